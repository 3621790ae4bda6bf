"""Cheap dependency checks for the health route."""
