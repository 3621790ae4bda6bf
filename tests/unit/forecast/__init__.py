"""The unit tests of forecast."""
