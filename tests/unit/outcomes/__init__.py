"""The unit tests of outcomes."""
