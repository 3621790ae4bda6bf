"""The unit tests of experiments."""
