"""The infra tests of api."""
