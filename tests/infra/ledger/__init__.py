"""The infra tests of ledger."""
