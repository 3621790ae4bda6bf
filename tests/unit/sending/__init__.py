"""The unit tests of sending."""
