"""The e2e tests of campaigns."""
