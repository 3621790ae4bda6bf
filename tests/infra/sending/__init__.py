"""The infra tests of sending."""
