"""The unit tests of api."""
