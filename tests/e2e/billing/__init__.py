"""The e2e tests of tenant quotas and statements."""
