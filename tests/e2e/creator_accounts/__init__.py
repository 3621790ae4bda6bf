"""The e2e tests of creator accounts."""
