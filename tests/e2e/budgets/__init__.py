"""The e2e tests of budgets."""
