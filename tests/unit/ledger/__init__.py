"""The unit tests of ledger."""
