"""Fakes and factories shared by every test tier (no test module imports another)."""
