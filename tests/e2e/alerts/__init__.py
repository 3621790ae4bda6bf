"""The e2e tests of alerts."""
