"""The unit tests of campaigns."""
