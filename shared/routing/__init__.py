"""Which provider and model serve a campaign type: routing table, overrides, flags, router, breaker, clients."""
