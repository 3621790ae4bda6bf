"""The infra tests of alerts."""
