"""The integration tests of budgets."""
