"""Schemas and views of the campaign routes."""
