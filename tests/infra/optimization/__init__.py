"""The infra tests of optimization."""
