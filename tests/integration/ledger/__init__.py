"""The integration tests of ledger."""
