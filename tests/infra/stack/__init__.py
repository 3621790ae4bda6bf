"""The infra tests of stack."""
