"""Cost monitoring infrastructure: the ledger table, the alert topic and its subscribers, who may touch
them, the cost routes, and the dashboard and alarms of stacks/observability.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks import constants as c
from stacks.route_table import FUNCTIONS
from tests.support.infra import PREFIX_STAGE, TEST_CONTEXT, Synth, _statements, actions_on, named


def test_cost_table_keys_ttl_pitr_and_billing(synth: Synth) -> None:
    _, table = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert sorted(a["AttributeType"] for a in props["AttributeDefinitions"]) == ["S", "S"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["BillingMode"] == "PAY_PER_REQUEST"


@pytest.mark.parametrize("suffix", ["cost-alerts", c.OPS_TOPIC_SUFFIX])
def test_alert_topics_have_one_email_subscription_per_context_address(synth: Synth, suffix: str) -> None:
    topic_id, _ = named(synth, "AWS::SNS::Topic", "TopicName", f"{PREFIX_STAGE}-{suffix}")
    endpoints = [
        s["Properties"]["Endpoint"]
        for s in synth.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id} and s["Properties"]["Protocol"] == "email"
    ]
    assert sorted(endpoints) == sorted(TEST_CONTEXT["alertEmails"])


def test_every_function_is_told_the_cost_topic_and_the_thresholds_from_context(synth: Synth) -> None:
    topic_id, _ = named(synth, "AWS::SNS::Topic", "TopicName", f"{PREFIX_STAGE}-cost-alerts")
    for fn in synth.of_type("AWS::Lambda::Function").values():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert variables["COST_ALERT_TOPIC_ARN"] == {"Ref": topic_id}
        assert (variables["DAILY_COST_THRESHOLD_USD"], variables["MONTHLY_COST_THRESHOLD_USD"]) == ("12.5", "300")


@pytest.mark.parametrize("function", ["campaign", "workflow_runner"])
def test_campaign_paths_record_costs_and_publish_no_alert(synth: Synth, function: str) -> None:
    statements = _statements(synth, function)
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    topic_id, _ = named(synth, "AWS::SNS::Topic", "TopicName", f"{PREFIX_STAGE}-cost-alerts")
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"} <= actions_on(statements, table_id)
    assert actions_on(statements, topic_id) == set()


def test_the_costs_table_streams_new_images(synth: Synth) -> None:
    _, table = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_the_aggregator_consumes_the_stream_filtered_batched_bisected_one_batch_per_shard(synth: Synth) -> None:
    costs_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    dlq_id, _ = named(synth, "AWS::SQS::Queue", "QueueName", f"{PREFIX_STAGE}-{c.COST_STREAM_DLQ_SUFFIX}")
    (mapping,) = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [costs_id, "StreamArn"]}
    ]
    source = FUNCTIONS["cost_aggregator"].streams
    assert source is not None and source.parallelization_factor == 1
    assert mapping["FunctionName"] == {"Ref": _function_id(synth, "cost_aggregator")}
    assert mapping["BatchSize"] == source.batch_size == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == source.max_batching_window_s <= 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["ParallelizationFactor"] == 1
    assert mapping["MaximumRetryAttempts"] == source.retry_attempts == 10
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] == source.max_record_age_s < 86_400
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq_id, "Arn"]}}}
    (pattern,) = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"pk": {"S": [{"prefix": "EVENT#"}]}}}}
    assert pattern == source.filter_pattern  # what the local stream poller applies


def test_the_aggregators_lag_and_its_dead_letters_are_alarmed(synth: Synth) -> None:
    alarms = synth.of_type("AWS::CloudWatch::Alarm").values()
    (lag,) = [a["Properties"] for a in alarms if a["Properties"].get("MetricName") == "IteratorAge"]
    assert lag["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": _function_id(synth, "cost_aggregator")}}]
    assert (lag["Statistic"], lag["Threshold"]) == ("Maximum", c.STREAM_ITERATOR_AGE_ALARM_S * 1000)
    assert lag["Threshold"] < 24 * 3600 * 1000  # long before the stream drops a record
    dlq_id, _ = named(synth, "AWS::SQS::Queue", "QueueName", f"{PREFIX_STAGE}-{c.COST_STREAM_DLQ_SUFFIX}")
    depth = [
        a["Properties"]
        for a in alarms
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dlq_id, "QueueName"]}
    ]
    assert len(depth) == 1 and depth[0]["Threshold"] == 1


def _function_id(synth: Synth, name: str) -> str:
    (found,) = [
        k
        for k, v in synth.of_type("AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"] == f"{PREFIX_STAGE}-{name}"
    ]
    return found


@pytest.mark.parametrize("function", ["cost_stats", "cost_breakdown"])
def test_cost_routes_read_the_ledger_and_nothing_else(synth: Synth, function: str) -> None:
    statements = _statements(synth, function)
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    on_table = actions_on(statements, table_id)
    assert "dynamodb:Query" in on_table and "dynamodb:Scan" in on_table  # grant_read_data; the code never scans
    assert not {a for a in on_table if a.split(":")[1].startswith(("Put", "Update", "Delete", "BatchWrite"))}
    touched = {json.dumps(s["Resource"]) for s in statements if "xray" not in json.dumps(s["Action"])}
    assert all(table_id in resource or "LogGroup" in resource for resource in touched)


@pytest.mark.parametrize("path", ["/api/v2/costs/stats", "/api/v2/costs/breakdown"])
def test_cost_routes_are_behind_the_jwt_authorizer(synth: Synth, path: str) -> None:
    (route,) = [
        r for r in synth.of_type("AWS::ApiGatewayV2::Route").values() if r["Properties"]["RouteKey"] == f"GET {path}"
    ]
    assert route["Properties"]["AuthorizationType"] == "JWT"


def test_ops_topic_uses_a_rotated_key_cloudwatch_may_use(synth: Synth) -> None:
    _, topic = named(synth, "AWS::SNS::Topic", "TopicName", f"{PREFIX_STAGE}-{c.OPS_TOPIC_SUFFIX}")
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synth.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    (statement,) = [s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "CloudWatchAlarmsPublish"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def alarm(synth: Synth, suffix: str) -> dict[str, Any]:
    return named(synth, "AWS::CloudWatch::Alarm", "AlarmName", f"{PREFIX_STAGE}-{suffix}")[1]["Properties"]


def test_spend_rate_alarm_watches_an_hours_spend_against_the_daily_threshold(synth: Synth) -> None:
    props = alarm(synth, "ai-spend-rate")
    assert (props["Namespace"], props["MetricName"], props["Statistic"], props["Period"]) == (
        "HybridOrchestrator",
        "CostUSD",
        "Sum",
        3600,
    )
    assert props["Dimensions"] == [{"Name": "service", "Value": "hybrid-orchestrator"}]
    assert props["Threshold"] == TEST_CONTEXT["dailyCostThresholdUsd"] * c.SPEND_RATE_SHARE_OF_DAILY


def test_api_5xx_and_unrecorded_cost_alarms(synth: Synth) -> None:
    (api_id,) = synth.of_type("AWS::ApiGatewayV2::Api")
    errors = alarm(synth, "api-5xx")
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert errors["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": api_id}}]
    unrecorded = alarm(synth, "costs-unrecorded")
    assert (unrecorded["MetricName"], unrecorded["Threshold"]) == ("CostRecordFailures", 1)


def test_every_alarm_notifies_the_ops_topic(synth: Synth) -> None:
    topic_id, _ = named(synth, "AWS::SNS::Topic", "TopicName", f"{PREFIX_STAGE}-{c.OPS_TOPIC_SUFFIX}")
    alarms = synth.of_type("AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 7  # spend rate, 5xx, unrecorded costs, cost stream lag, and the three DLQ depth alarms
    for props in (a["Properties"] for a in alarms):
        assert props["AlarmActions"] == [{"Ref": topic_id}], props["AlarmName"]
        assert props["TreatMissingData"] == "notBreaching" or "dlq" in json.dumps(props["AlarmName"])


def test_dashboard_shows_spend_by_provider_tokens_fallbacks_and_errors(synth: Synth) -> None:
    _, dashboard = named(synth, "AWS::CloudWatch::Dashboard", "DashboardName", f"{PREFIX_STAGE}-{c.DASHBOARD_SUFFIX}")
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(part if isinstance(part, str) else "REF" for part in parts))
    widgets = {w["properties"].get("title", ""): w["properties"] for w in body["widgets"]}
    spend = next(props for title, props in widgets.items() if title.startswith("AI spend by provider"))
    assert [m[:4] for m in spend["metrics"]] == [
        ["HybridOrchestrator", "CostUSD", "provider", provider] for provider in ("azure", "openai")
    ]
    metric_names = {m[1] for props in widgets.values() for m in props.get("metrics", []) if len(m) > 1}
    assert {"CostUSD", "InputTokens", "OutputTokens", "Fallbacks", "ProviderLatency", "Errors", "5xx"} <= metric_names
    (alarms,) = [props for props in widgets.values() if "alarms" in props]
    assert len(alarms["alarms"]) == 7
    lag = next(props for title, props in widgets.items() if title.startswith("Cost aggregator lag"))
    assert [m[1] for m in lag["metrics"]] == ["IteratorAge"]
    aggregator = next(props for title, props in widgets.items() if title.startswith("Cost aggregator: errors"))
    assert {m[1] for m in aggregator["metrics"]} == {"Errors", "Throttles", "Invocations"}
    dlq = next(props for title, props in widgets.items() if title.startswith("Cost stream on-failure queue"))
    assert [m[1] for m in dlq["metrics"]] == ["ApproximateNumberOfMessagesVisible"]
