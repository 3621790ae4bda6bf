"""The e2e tests of optimization."""
