"""The integration tests of local."""
