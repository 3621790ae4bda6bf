"""The unit tests of core."""
