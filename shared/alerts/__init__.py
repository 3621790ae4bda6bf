"""Spend thresholds, alert rules, their channels, the one crossing checker and forecast warnings."""
