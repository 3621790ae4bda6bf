"""Schemas and views of thresholds and alert rules."""
