"""Month-end spend projection and today's spike check, from the ledger's day counters."""
