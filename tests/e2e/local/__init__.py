"""The e2e tests of local."""
