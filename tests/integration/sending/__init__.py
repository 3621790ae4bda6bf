"""The integration tests of sending."""
