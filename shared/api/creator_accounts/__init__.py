"""Schemas and views of the creator-account registry."""
