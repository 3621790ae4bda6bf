"""The unit tests of creator accounts."""
