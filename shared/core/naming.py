"""Physical resource names, shared by the CDK stacks and the runtime settings.

Both sides derive names from the same (prefix, stage) pair, so a name can never drift between
what is deployed (or created locally from the synthesized template) and what the code reads.
"""

import hashlib
import re

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
# cost-recording functions publish to; the API narrows it to one name per owner (below).
OWNER_ALERT_TOPIC_INFIX = "alerts-"
OWNER_TOPIC_READABLE_MAX = 64  # of the owner id's characters kept in the name, for people
OWNER_TOPIC_HASH_HEX = 16  # 64 bits of SHA-256: no owner id can be found to share another's topic
_NOT_IN_TOPIC_NAMES = re.compile(r"[^A-Za-z0-9_-]")


def owner_alert_topic_name(prefix: str, stage: str, owner_id: str) -> str:
    """The one SNS topic an owner's alert rules may name: ``<prefix>-<stage>-alerts-<readable>-<hash>``.

    SNS names allow ``[A-Za-z0-9_-]`` (at most 256) and owner ids may hold anything else, so the readable
    part (other characters become ``_``, cut to 64) can be shared by two owners (``a.b`` and ``a#b``);
    the hash of the exact id, always present, tells them apart. Deterministic: the owner creates the
    topic under this name, the API and the recording path derive the same name again.
    """
    readable = _NOT_IN_TOPIC_NAMES.sub("_", owner_id)[:OWNER_TOPIC_READABLE_MAX]
    digest = hashlib.sha256(owner_id.encode()).hexdigest()[:OWNER_TOPIC_HASH_HEX]
    return resource_name(prefix, stage, f"{OWNER_ALERT_TOPIC_INFIX}{readable}-{digest}")
