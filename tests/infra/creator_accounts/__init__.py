"""The infra tests of creator accounts."""
