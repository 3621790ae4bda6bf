"""The infra tests of routing."""
