"""The unit tests of alerts."""
