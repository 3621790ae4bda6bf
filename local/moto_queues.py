"""Reading an SQS queue's messages without receiving them, for the local stack's state file.

SQS has no "peek": ``ReceiveMessage`` hides what it returns and counts a receive, so a snapshot taken
that way every few seconds would walk messages towards their queue's dead-letter queue. The moto
server holds the messages in memory, so this module adds one route to moto's own ``/moto-api/``
(``GET /moto-api/local/queue-messages``) that lists every message not yet deleted — visible, delayed
or in flight — with what ``SendMessage`` needs to put it back: body, attributes, and how much of
its delay is left. It reads moto's internals (``Queue._messages``), which is why it lives here,
beside the other moto patches, and why :func:`queue_messages` is the only reader.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from typing import Any

from local.template import ACCOUNT_ID, REGION

QUEUE_MESSAGES_PATH = "/moto-api/local/queue-messages"


def register_queue_messages_route() -> None:
    """Add the route to moto's API in this process (idempotent; before the server answers its first call)."""
    from moto.moto_api._internal import urls

    urls.url_paths["{0}" + QUEUE_MESSAGES_PATH] = _queue_messages_response


def _queue_messages_response(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    from moto.sqs.models import sqs_backends

    now_ms = time.time() * 1000
    queues = sqs_backends[ACCOUNT_ID][REGION].queues
    listed = {name: [_message(m, now_ms) for m in list(queue._messages)] for name, queue in queues.items()}
    return 200, {"Content-Type": "application/json"}, json.dumps(listed)


def _message(message: Any, now_ms: float) -> dict[str, Any]:
    attributes = {}
    for name, value in message.message_attributes.items():
        attribute = {k: v for k, v in value.items() if k in ("DataType", "StringValue")}
        if value.get("BinaryValue") is not None:
            attribute["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        attributes[name] = attribute
    return {
        "body": message.body,
        "messageAttributes": attributes,
        "delayLeftS": max(0.0, (message.delayed_until - now_ms) / 1000),
        "groupId": message.group_id,
        "deduplicationId": message.deduplication_id,
    }


def queue_messages(moto_url: str, timeout_s: float = 30.0) -> dict[str, list[dict[str, Any]]]:
    """Every queue's undeleted messages, by queue name, oldest first (``BinaryValue`` base64-encoded)."""
    with urllib.request.urlopen(f"{moto_url}{QUEUE_MESSAGES_PATH}", timeout=timeout_s) as response:
        return dict(json.loads(response.read()))
