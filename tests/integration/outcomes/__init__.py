"""Outcomes against the moto server."""
