"""The unit tests of budgets."""
