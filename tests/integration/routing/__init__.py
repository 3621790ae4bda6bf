"""The integration tests of routing."""
