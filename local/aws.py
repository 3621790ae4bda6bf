"""AWS locally: a moto server, and the template's resources created in it with boto3.

Why not moto's CloudFormation ``create_stack``: it skips what we rely on (table TTL,
``AWS::DynamoDB::GlobalTable``, SNS subscriptions) and invents names the template does not give.
Creating each resource from its template properties is as fast (well under a second) and keeps
every setting visible here.

The moto server runs either in this process (a thread: fastest start, what the tests use) or as
``python -m moto.server`` (its own process and GIL: what ``make run`` and the benchmarks use).
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3

from local.processes import terminate
from local.redis_server import free_port
from local.template import REGION, REPO_ROOT, PhysicalResource, Resolver, Template, TemplateError
from shared.core.naming import SECRET_SUFFIXES

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}
EMAIL_OUTBOX_QUEUE = "local-email-outbox"
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


class MotoServer:
    """A moto server on 127.0.0.1, in a thread of this process or in a process of its own."""

    def __init__(
        self, port: int = 0, mode: Literal["thread", "process"] = "thread", recording_path: str | None = None
    ) -> None:
        self.port = port or free_port()
        self.mode = mode
        # A process server records every request it receives (moto's recorder) to this file when given.
        self.recording_path = recording_path
        self._thread_server: Any = None
        self._process: subprocess.Popen[bytes] | None = None
        self._session = boto3.session.Session(**LOCAL_CREDENTIALS)  # one session: clients share its loader

    @property
    def url(self) -> str:
        """Endpoint for ``AWS_ENDPOINT_URL``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> MotoServer:
        """Start and wait until the port accepts connections."""
        if self.mode == "thread":
            from moto.server import ThreadedMotoServer  # imported only when used: it is heavy

            from local.moto_dynamodb import serialize_dynamodb_requests
            from local.moto_queues import register_queue_messages_route

            serialize_dynamodb_requests()
            register_queue_messages_route()
            self._thread_server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            self._thread_server.start()
            return self
        args = [sys.executable, "-m", "local.moto_dynamodb", "-H", "127.0.0.1", "-p", str(self.port)]
        env = dict(os.environ)
        if self.recording_path:
            env.update({"MOTO_ENABLE_RECORDING": "True", "MOTO_RECORDER_FILEPATH": self.recording_path})
        # A group of its own: Ctrl-C on `make run` reaches `make run` alone, which saves its state (reading
        # this server) before it stops the server.
        self._process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto server did not listen on {self.port} within {timeout_s}s")

    def stop(self) -> None:
        """Stop the server (thread or process)."""
        if self._thread_server is not None:
            self._thread_server.stop()
            self._thread_server = None
        process, self._process = self._process, None
        terminate(process)

    def client(self, service: str) -> Any:
        """A boto3 client bound to this server with the local credentials."""
        return self._session.client(service, endpoint_url=self.url)

    def reset_recording(self) -> None:
        """Forget the requests recorded so far (``recording_path`` servers only)."""
        request = urllib.request.Request(f"{self.url}/moto-api/recorder/reset-recording", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def recording(self) -> list[dict[str, Any]]:
        """Every request the server received since the last reset, as moto recorded it (headers, body)."""
        with urllib.request.urlopen(f"{self.url}/moto-api/recorder/download-recording", timeout=30) as response:
            return [json.loads(line) for line in response.read().decode().splitlines() if line.strip()]


@dataclass
class LocalResources:
    """What was created, by logical id, plus name-keyed views the tests and banner use."""

    physical: dict[str, PhysicalResource] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)  # name -> arn
    queues: dict[str, str] = field(default_factory=dict)  # name -> url
    topics: dict[str, str] = field(default_factory=dict)  # name -> arn
    secrets: dict[str, str] = field(default_factory=dict)  # name -> arn
    email_subscriptions: list[dict[str, str]] = field(default_factory=list)  # {"topic", "endpoint"}
    queue_arns: dict[str, str] = field(default_factory=dict)  # arn -> url


def provider_key_for(secret_name: str, keys: Mapping[str, str]) -> str | None:
    """The simulator key a provider secret should hold (Azure first: its suffix contains OpenAI's)."""
    for provider in ("azure", "openai"):
        if secret_name.endswith(SECRET_SUFFIXES[provider]) and provider in keys:
            return keys[provider]
    return None


def _name(props: Mapping[str, Any], key: str, logical_id: str) -> str:
    return str(props.get(key) or logical_id.lower())


def _create_tables(template: Template, resolver: Resolver, server: MotoServer, out: LocalResources) -> None:
    ddb = server.client("dynamodb")
    types = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
    for logical_id in template.of_type(*types):
        props = resolver.resolve(template.props(logical_id))
        name = _name(props, "TableName", logical_id)
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(key):
                request[key] = [
                    {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                    for index in props[key]
                ]
        stream = props.get("StreamSpecification")
        if stream:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        description = ddb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        pitr = props.get("PointInTimeRecoverySpecification") or next(
            (r.get("PointInTimeRecoverySpecification") for r in props.get("Replicas", [])), None
        )
        if pitr and pitr.get("PointInTimeRecoveryEnabled"):
            ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        arn = description["TableArn"]
        attributes = {"Arn": arn, "StreamArn": description.get("LatestStreamArn", "")}
        out.physical[logical_id] = PhysicalResource(ref=name, attributes=attributes)
        out.tables[name] = arn


def _create_queues(template: Template, resolver: Resolver, server: MotoServer, out: LocalResources) -> None:
    """Create queues, dead-letter queues first (a redrive policy names its DLQ's ARN)."""
    sqs = server.client("sqs")
    pending = dict(template.of_type("AWS::SQS::Queue"))
    while pending:
        progressed = False
        for logical_id in list(pending):
            try:
                props = resolver.resolve(template.props(logical_id))
            except TemplateError:
                continue  # its DLQ is not created yet
            name = _name(props, "QueueName", logical_id)
            attributes = {
                k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
                for k in _QUEUE_ATTRIBUTES
                if k in props
            }
            if props.get("RedrivePolicy"):
                attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            out.physical[logical_id] = PhysicalResource(
                ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url}
            )
            out.queues[name], out.queue_arns[arn] = url, url
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise TemplateError(f"cannot resolve queue properties of {sorted(pending)}")


def _create_keys(template: Template, server: MotoServer, out: LocalResources) -> None:
    """KMS keys (a topic names its key's ARN); their policies are not enforced locally."""
    kms = server.client("kms")
    for logical_id in template.of_type("AWS::KMS::Key"):
        metadata = kms.create_key(Description=str(template.props(logical_id).get("Description", logical_id)))
        key = metadata["KeyMetadata"]
        out.physical[logical_id] = PhysicalResource(
            ref=key["KeyId"], attributes={"Arn": key["Arn"], "KeyId": key["KeyId"]}
        )


def _create_topics(template: Template, resolver: Resolver, server: MotoServer, out: LocalResources) -> None:
    """Topics and their subscriptions; e-mail ones cannot be confirmed locally, so they are recorded."""
    sns = server.client("sns")
    subscriptions: list[dict[str, Any]] = []
    for logical_id in template.of_type("AWS::SNS::Topic"):
        props = resolver.resolve(template.props(logical_id))
        name = _name(props, "TopicName", logical_id)
        arn = sns.create_topic(Name=name)["TopicArn"]
        out.physical[logical_id] = PhysicalResource(ref=arn, attributes={"TopicArn": arn, "TopicName": name})
        out.topics[name] = arn
        subscriptions += [{**sub, "TopicArn": arn} for sub in props.get("Subscription", [])]
    for logical_id in template.of_type("AWS::SNS::Subscription"):
        subscriptions.append(resolver.resolve(template.props(logical_id)))
    for sub in subscriptions:
        attributes = (
            {"RawMessageDelivery": str(sub["RawMessageDelivery"]).lower()} if "RawMessageDelivery" in sub else {}
        )
        if sub.get("FilterPolicy"):
            attributes["FilterPolicy"] = json.dumps(sub["FilterPolicy"])
        sns.subscribe(
            TopicArn=sub["TopicArn"], Protocol=sub["Protocol"], Endpoint=sub["Endpoint"], Attributes=attributes
        )
        if sub["Protocol"] in ("email", "email-json"):
            out.email_subscriptions.append({"topic": sub["TopicArn"], "endpoint": sub["Endpoint"]})


def _create_secrets(
    template: Template, resolver: Resolver, server: MotoServer, out: LocalResources, keys: Mapping[str, str]
) -> None:
    client = server.client("secretsmanager")
    for logical_id in template.of_type("AWS::SecretsManager::Secret"):
        props = resolver.resolve(template.props(logical_id))
        name = _name(props, "Name", logical_id)
        value = provider_key_for(name, keys) or props.get("SecretString") or pysecrets.token_urlsafe(24)
        arn = client.create_secret(Name=name, SecretString=value)["ARN"]
        out.physical[logical_id] = PhysicalResource(ref=arn, attributes={"Id": arn, "Arn": arn, "Name": name})
        out.secrets[name] = arn


def _name_functions(template: Template, out: LocalResources) -> None:
    """Functions are not created in moto, but an environment may name another function."""
    for logical_id in template.of_type("AWS::Lambda::Function"):
        name = str(template.props(logical_id).get("FunctionName") or logical_id)
        arn = f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
        out.physical[logical_id] = PhysicalResource(ref=name, attributes={"Arn": arn})


def create_resources(template: Template, server: MotoServer, provider_keys: Mapping[str, str]) -> LocalResources:
    """Create the template's tables, queues, topics, subscriptions and secrets in the moto server."""
    out = LocalResources()
    resolver = Resolver(template, out.physical)
    _name_functions(template, out)
    _create_tables(template, resolver, server, out)
    _create_queues(template, resolver, server, out)
    _create_keys(template, server, out)
    _create_topics(template, resolver, server, out)
    _create_secrets(template, resolver, server, out, provider_keys)
    return out


class EmailOutbox:
    """Alert e-mails as they would be delivered: every message published to the template's topics.

    A local-only SQS queue subscribes to each topic (standard, non-raw delivery keeps Subject,
    TopicArn and Timestamp); reading drains it into an in-memory list so every read sees all mail.
    """

    def __init__(self, server: MotoServer, resources: LocalResources) -> None:
        self._sqs = server.client("sqs")
        sns = server.client("sns")
        self._url = self._sqs.create_queue(QueueName=EMAIL_OUTBOX_QUEUE)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._recipients: dict[str, list[str]] = {}
        for sub in resources.email_subscriptions:
            self._recipients.setdefault(sub["topic"], []).append(sub["endpoint"])
        for topic_arn in resources.topics.values():
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        self._emails: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def emails(self) -> list[dict[str, Any]]:
        """``[{"subject", "message", "topic", "to", "at"}]``, oldest first."""
        with self._lock:
            while True:
                batch = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
                messages = batch.get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    note = json.loads(message["Body"])
                    topic_arn = note.get("TopicArn", "")
                    self._emails.append(
                        {
                            "subject": note.get("Subject"),
                            "message": note.get("Message"),
                            "topic": topic_arn.rsplit(":", 1)[-1],
                            "to": self._recipients.get(topic_arn, []),
                            "at": note.get("Timestamp"),
                        }
                    )
                    self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
            return sorted(self._emails, key=lambda e: e["at"] or "")

    def clear(self) -> None:
        """Forget delivered mail (tests start from an empty outbox)."""
        self.emails()
        with self._lock:
            self._emails.clear()
