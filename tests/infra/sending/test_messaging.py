"""SQS queues with DLQs and SSE over TLS only; the SNS cost-alert topic and its e-mail subscriptions."""

from __future__ import annotations

from typing import Any

import pytest

from stacks import constants as c
from tests.support.infra import PREFIX_STAGE, TEST_CONTEXT, Synth


def _queue(synth: Synth, name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in synth.of_type("AWS::SQS::Queue").items() if v["Properties"]["QueueName"] == name]
    return found


def test_exactly_two_queues_their_dead_letter_queues_and_the_cost_streams_on_failure_queue(synth: Synth) -> None:
    names = sorted(q["Properties"]["QueueName"] for q in synth.of_type("AWS::SQS::Queue").values())
    base = [f"{PREFIX_STAGE}-rate-limited-messages", f"{PREFIX_STAGE}-workflows"]
    stream = f"{PREFIX_STAGE}-{c.COST_STREAM_DLQ_SUFFIX}"
    assert names == sorted([*base, *(f"{name}-dlq" for name in base), stream])
    assert not any(name.endswith(".fifo") for name in names)


@pytest.mark.parametrize("suffix", ["workflows", "rate-limited-messages"])
def test_queue_redrives_to_its_dlq_and_is_encrypted(synth: Synth, suffix: str) -> None:
    name = f"{PREFIX_STAGE}-{suffix}"
    _, queue = _queue(synth, name)
    dlq_id, dlq = _queue(synth, f"{name}-dlq")
    props = queue["Properties"]
    max_receives = c.MESSAGES_MAX_RECEIVE_COUNT if suffix == "rate-limited-messages" else c.DLQ_MAX_RECEIVE_COUNT
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": max_receives,
    }
    assert 3 <= props["RedrivePolicy"]["maxReceiveCount"] <= 5
    assert props["VisibilityTimeout"] >= 180  # 6x the consumer's timeout: see test_sending_infra
    assert props["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "RedrivePolicy" not in dlq["Properties"]


@pytest.mark.parametrize("suffix", ["workflows", "rate-limited-messages"])
def test_queue_and_dlq_deny_requests_without_tls(synth: Synth, suffix: str) -> None:
    name = f"{PREFIX_STAGE}-{suffix}"
    for queue_id in (_queue(synth, name)[0], _queue(synth, f"{name}-dlq")[0]):
        statements = [
            s
            for policy in synth.of_type("AWS::SQS::QueuePolicy").values()
            if {"Ref": queue_id} in policy["Properties"]["Queues"]
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        ), queue_id


def cost_alert_topic(synth: Synth) -> tuple[str, dict]:
    """The cost-alert topic (the ops alarm topic of stacks/observability.py is the other one)."""
    (found,) = [(k, v) for k, v in synth.of_type("AWS::SNS::Topic").items() if "cost-alerts" in str(v)]
    return found


def test_cost_alert_topic_is_named_and_encrypted(synth: Synth) -> None:
    _, topic = cost_alert_topic(synth)
    assert topic["Properties"]["TopicName"] == f"{PREFIX_STAGE}-cost-alerts"
    assert topic["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"


def test_one_email_subscription_per_context_address(synth: Synth) -> None:
    topic_id, _ = cost_alert_topic(synth)
    subscriptions = [
        s for s in synth.of_type("AWS::SNS::Subscription").values() if s["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    assert sorted(s["Properties"]["Endpoint"] for s in subscriptions) == sorted(TEST_CONTEXT["alertEmails"])
    for subscription in subscriptions:
        assert subscription["Properties"]["Protocol"] == "email"
        assert subscription["Properties"]["TopicArn"] == {"Ref": topic_id}


def test_provider_secrets_are_named_and_generated(synth: Synth) -> None:
    secrets = synth.of_type("AWS::SecretsManager::Secret").values()
    assert sorted(s["Properties"]["Name"] for s in secrets) == [
        f"{PREFIX_STAGE}-azure-openai-api-key",
        f"{PREFIX_STAGE}-openai-api-key",
        f"{PREFIX_STAGE}-sending-gateway-key",
    ]
    for secret in secrets:
        assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] == 32
        assert "SecretString" not in secret["Properties"]
