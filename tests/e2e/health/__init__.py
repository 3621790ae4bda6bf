"""The e2e tests of health."""
