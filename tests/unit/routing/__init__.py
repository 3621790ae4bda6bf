"""The unit tests of routing."""
