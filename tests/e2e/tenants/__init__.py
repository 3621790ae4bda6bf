"""The e2e tests of tenants: isolation between two tenants over HTTP."""
