"""Routing experiments: A/B tests of a campaign type's route, judged on cost, latency, fallbacks and outcomes."""
