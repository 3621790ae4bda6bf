"""Schemas and views of the monthly statements per tenant."""
