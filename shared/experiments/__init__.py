"""Routing experiments: A/B splits of a campaign type's route, judged on cost, quality signals and revenue."""
