"""The unit tests of local."""
