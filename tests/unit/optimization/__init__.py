"""The unit tests of optimization."""
