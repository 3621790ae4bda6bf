"""The e2e tests of api."""
