"""The integration tests of creator accounts."""
