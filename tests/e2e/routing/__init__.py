"""The e2e tests of routing."""
