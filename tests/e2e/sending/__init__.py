"""The e2e tests of sending."""
