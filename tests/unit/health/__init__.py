"""The unit tests of health."""
