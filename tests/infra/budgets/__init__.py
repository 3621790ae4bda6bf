"""The infra tests of budgets."""
