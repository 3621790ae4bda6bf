"""Fixtures shared by the integration and end-to-end tiers: one local stack per session.

Every fixture here is lazy: nothing starts until a test asks for ``local_stack``, ``api``, ``sim``
or ``redis_server``, so ``pytest tests/unit`` never touches a service. The session runs one
:class:`local.stack.LocalStack`; the ``api`` fixture adds the HTTP server (and the queue pollers)
to that same stack, so in-process handlers and HTTP tests see the same moto, Redis and simulator.
"""

from __future__ import annotations

import contextlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

_RUNNING: dict[str, Any] = {}  # the session's LocalStack, once a test has asked for it


@dataclass
class Reply:
    """One HTTP answer: status, headers (lower-case names) and the parsed JSON body (or raw text)."""

    status: int
    headers: dict[str, str]
    body: Any


class ApiClient:
    """A small HTTP client for the local API, with the token helper the e2e tests need."""

    def __init__(self, url: str) -> None:
        self.url = url

    def token(self, user: str, admin: bool = False, **extra: Any) -> str:
        """A valid local JWT (``extra`` claims may override, e.g. ``exp=0`` for an expired one)."""
        from local.token import make_token

        return make_token(user, admin=admin, **extra)

    def link_account(self, account_id: str, *user_ids: str) -> None:
        """Let ``user_ids`` send as ``account_id`` (an admin's PUT), which fan_messages requires first."""
        reply = self.call(
            "PUT",
            f"/api/v2/creator-accounts/{account_id}",
            {"userIds": list(user_ids)},
            token=self.token("accounts-admin", admin=True),
        )
        assert reply.status == 200, reply.body

    def wait_for_spend(self, token: str, expected_micros: int, timeout_s: float = 60.0, **params: str) -> dict:
        """``/costs/stats`` once the stream has folded the caller's spend up to ``expected_micros`` today (the
        counters trail a campaign's answer by about a second, and one batch writes its counters one after the
        other, so the per-campaign and per-day views are waited for too); the stats' ``data``."""
        from urllib.parse import urlencode

        def read(path: str, **extra: str) -> dict:
            reply = self.call("GET", f"{path}?{urlencode({**params, **extra})}", token=token)
            assert reply.status == 200, reply.body
            return reply.body["data"]

        def folded() -> dict | None:
            stats = read("/api/v2/costs/stats")
            if stats["todayTotalMicros"] < expected_micros:
                return None
            for group_by in ("campaign", "day"):
                if read("/api/v2/costs/breakdown", groupBy=group_by)["total"]["costMicros"] < expected_micros:
                    return None
            return stats

        return eventually(folded, timeout_s)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        """Send one request; ``body`` is JSON-encoded unless it is bytes."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None and not isinstance(body, bytes):
            request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, head = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, head = error.code, error.read(), error.headers
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Reply(status, {k.lower(): v for k, v in head.items()}, parsed)


@pytest.fixture(scope="session")
def local_stack() -> Iterator[Any]:
    """Redis + moto (resources from the synthesized template) + provider simulator, env applied.

    ``os.environ`` holds ``stack.env`` for the rest of the session (and the settings cache is
    cleared), so handlers called in-process read the local resources exactly as deployed ones
    read theirs. Honours an existing ``REDIS_URL``.
    """
    from local.stack import LocalStack

    stack = LocalStack(with_api=False, drain_queues=False)
    stack.start()
    stack.apply_env()
    _RUNNING["stack"] = stack
    try:
        yield stack
    finally:
        _RUNNING.pop("stack", None)
        stack.stop()


@pytest.fixture(scope="session")
def api(local_stack: Any) -> ApiClient:
    """The local API on a free port (with the queue pollers running), as an :class:`ApiClient`."""
    url = local_stack.start_api()
    local_stack.start_pollers()
    return ApiClient(url)


def eventually(predicate: Callable[[], Any], timeout_s: float = 15.0, every_s: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned), for at most ``timeout_s``: how tests
    wait for the costs table's stream to be folded into the counters (about a second)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        found = predicate()
        if found or time.monotonic() > deadline:
            assert found, f"not within {timeout_s} s: {predicate}"
            return found
        time.sleep(every_s)


@pytest.fixture
def cost_stream(local_stack: Any) -> Callable[..., Any]:
    """The costs table's stream folded as deployed (the stream pollers run), and :func:`eventually` to wait on it."""
    local_stack.start_stream_pollers()
    return eventually


@pytest.fixture
def sim(local_stack: Any) -> Any:
    """The provider simulator handle (``add_fault``, ``requests``, ``reset``, ``url``), reset for each test.

    Async campaigns an earlier test queued would call the simulator during this one and land in its
    request log, so the workflows queue is first let drain (bounded).
    """
    _wait_for_idle_workflows_queue(local_stack)
    local_stack.sim.reset()
    return local_stack.sim


def _wait_for_idle_workflows_queue(stack: Any, timeout_s: float = 30) -> None:
    import time

    sqs = stack.moto.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.env["WORKFLOWS_QUEUE_NAME"])["QueueUrl"]
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if not any(int(attributes.get(name, 0)) for name in names):
            return
        time.sleep(0.2)


@pytest.fixture
def redis_server(local_stack: Any) -> Any:
    """The session's Redis handle (``url``, ``kind``, ``stop()``, ``start()``, ``managed``).

    A test that stops it must start it again (``start()`` reuses the port); with an external
    ``REDIS_URL`` (``managed`` is False) it cannot be stopped, so such tests should skip.
    """
    yield local_stack.redis
    if local_stack.redis.managed and not local_stack.redis.running:
        local_stack.redis.start()


@pytest.fixture(autouse=True)
def _local_tier_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep the session stack's effects inside the integration and e2e tiers (never starts anything).

    Integration/e2e/artifact/browser tests get simulator faults and logs cleared around them. A unit test that runs
    after the stack started (``pytest tests`` runs every tier in one session) sees the environment
    as it was before the stack, so its settings are the defaults, not the local stack's.
    """
    in_tier = bool({"integration", "e2e", "artifact", "browser"} & set(Path(str(request.node.path)).parts))
    stack = _RUNNING.get("stack")
    if stack is None:
        yield
        return
    if not in_tier:
        stack.restore_env()
        try:
            yield
        finally:
            stack.apply_env()
        return
    stack.sim.reset()
    yield
    stack.sim.reset()


@contextlib.contextmanager
def subscribed_topic(stack: Any, name: str, wait_s: int = 0) -> Iterator[tuple[str, Callable[[], list[dict]]]]:
    """A fresh SNS topic in the stack's moto, and a reader of every message published to it so far.

    A queue subscribed to the topic collects the messages (standard delivery: each one's JSON
    envelope with ``Subject`` and ``Message``); ``read`` drains it and returns all of them.
    """
    sns, sqs = stack.moto.client("sns"), stack.moto.client("sqs")
    arn = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    received: list[dict] = []

    def read() -> list[dict]:
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s).get(
            "Messages", []
        ):
            received.extend(json.loads(m["Body"]) for m in batch)
            for m in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return received

    try:
        yield arn, read
    finally:
        sns.delete_topic(TopicArn=arn)
        sqs.delete_queue(QueueUrl=url)
