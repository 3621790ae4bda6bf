"""The infra tests of costs."""
