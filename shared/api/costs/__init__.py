"""Schemas and views of the spend reports (stats, breakdown, campaign costs, forecast)."""
