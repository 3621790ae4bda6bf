"""The e2e tests of costs."""
