"""The cost ledger: every billed call recorded once, counters read in constant time."""
