"""Schemas and views of the optimization routes."""
