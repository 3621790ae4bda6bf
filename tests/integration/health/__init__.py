"""The integration tests of health."""
