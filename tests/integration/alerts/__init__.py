"""The integration tests of alerts."""
