"""Physical resource names, shared by the CDK stacks and the runtime settings.

Both sides derive names from the same (prefix, stage) pair, so a name can never drift between
what is deployed (or created locally from the synthesized template) and what the code reads.
"""

TABLE_SUFFIXES = {
    "workflows": "workflows",
    "costs": "costs",
    "circuits": "circuit-state",
    "idempotency": "idempotency",
    "creator_accounts": "creator-accounts",
}
QUEUE_SUFFIXES = {
    "workflows": "workflows",
    "messages": "rate-limited-messages",
}
TOPIC_SUFFIX = "cost-alerts"


def resource_name(prefix: str, stage: str, suffix: str) -> str:
    """Return the physical name of a resource, e.g. ``hybrid-orch-dev-workflows``."""
    return f"{prefix}-{stage}-{suffix}"


SECRET_SUFFIXES = {
    "openai": "openai-api-key",
    "azure": "azure-openai-api-key",
    "gateway": "sending-gateway-key",
}

# Owners' own alert topics: ``<prefix>-<stage>-alerts-<anything>``, the one name pattern IAM lets the
# cost-recording functions publish to.
OWNER_ALERT_TOPIC_INFIX = "alerts-"
