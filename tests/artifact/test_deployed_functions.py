"""Every function as it deploys — its ``cdk.out`` asset and layers, on Python 3.12 with only the runtime's boto3.

What this catches that the other tiers cannot (they import from the source tree in the dev
virtualenv): a dependency missing from ``requirements.txt``, a wheel built for another platform or
Python, a data file left out of a layer, a handler string that names nothing, byte code compiled
by the wrong Python. Each HTTP function answers a real payload 2.0 event (JWT claims where API
Gateway puts them) with the same status and envelope as the same handler called in-process; each
queue consumer drains real records off the local stack's queues and reports a partial batch
response with no failure.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from layers.artifact import LAMBDA_ZIP_LIMIT_MB
from local.events import authorizer_context, build_http_event, parse_handler_result
from local.queue_poller import sqs_event
from local.stream_poller import stream_event
from stacks import constants as c
from stacks.route_table import FUNCTIONS, ROUTES, HttpRoute

State = dict[str, str]
SIDES = ("artifact", "in_process")


@dataclass(frozen=True)
class Call:
    """A request its caller is entitled to; ``keep`` saves ids from the answer for later calls."""

    query: Callable[[State], dict[str, str]] = field(default=lambda state: {})
    path: Callable[[State], dict[str, str]] = field(default=lambda state: {})
    body: Callable[[State], Any] | None = None
    admin: bool = False
    keep: Callable[[State, Any], None] = field(default=lambda state, data: None)


def _keep(**paths: str) -> Callable[[State, Any], None]:
    def keep(state: State, data: Any) -> None:
        for name, key in paths.items():
            state[name] = data[key]

    return keep


CAPTION = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "artifact tier"}}
NO_EXPERIMENT = "exp_0000000000000deadbeef"
# In route order where a later call needs an id an earlier one created (each side keeps its own).
CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/api/v2/campaigns/hybrid"): Call(body=lambda s: CAPTION, keep=_keep(workflowId="workflowId")),
    ("GET", "/api/v2/campaigns/status"): Call(query=lambda s: {"workflowId": s["workflowId"]}),
    ("POST", "/api/v2/campaigns/outcomes"): Call(
        body=lambda s: {"workflowId": s["workflowId"], "outcomeId": "artifact-sale", "revenueUsd": 2.5}
    ),
    ("POST", "/api/v2/costs/thresholds"): Call(
        body=lambda s: {"scope": "user", "period": "monthly", "amountUsd": 500}, keep=_keep(thresholdId="thresholdId")
    ),
    ("GET", "/api/v2/costs/thresholds"): Call(),
    ("POST", "/api/v2/costs/alerts"): Call(
        body=lambda s: {"thresholdId": s["thresholdId"], "channel": {"type": "email"}}, keep=_keep(ruleId="ruleId")
    ),
    ("PUT", "/api/v2/costs/alerts"): Call(body=lambda s: {"ruleId": s["ruleId"], "enabled": False}),
    ("GET", "/api/v2/costs/alerts"): Call(query=lambda s: {"view": "history", "limit": "5"}),
    ("GET", "/api/v2/costs/stats"): Call(),
    ("GET", "/api/v2/costs/breakdown"): Call(query=lambda s: {"groupBy": "model"}),
    ("GET", "/api/v2/campaigns/costs"): Call(query=lambda s: {"sortBy": "calls", "order": "asc"}),
    ("GET", "/api/v2/costs/forecast"): Call(),
    ("GET", "/api/v2/costs/optimization"): Call(admin=True),
    ("GET", "/api/v2/costs/optimize"): Call(admin=True),
    # No such recommendation: a 404 only a caller past validation and authorization reaches.
    ("POST", "/api/v2/costs/optimization/apply"): Call(
        body=lambda s: {"recommendationId": "rec_" + "0" * 20}, admin=True
    ),
    # Experiments: answers past authorization that start none (both sides share one stack and one caption type).
    ("POST", "/api/v2/experiments"): Call(
        body=lambda s: {
            "name": "artifact",
            "campaignType": "caption",
            "variants": [{"name": "A", "route": [{"provider": "openai", "model": "gpt-4o-mini"}]}] * 2,
            "split": [60, 50],
        },
        admin=True,
    ),
    ("GET", "/api/v2/experiments"): Call(admin=True),
    ("GET", "/api/v2/experiments/{experimentId}"): Call(path=lambda s: {"experimentId": NO_EXPERIMENT}, admin=True),
    ("POST", "/api/v2/experiments/{experimentId}/stop"): Call(
        path=lambda s: {"experimentId": NO_EXPERIMENT}, admin=True
    ),
    ("POST", "/api/v2/experiments/{experimentId}/promote"): Call(
        path=lambda s: {"experimentId": NO_EXPERIMENT}, body=lambda s: {"variant": "B"}, admin=True
    ),
    ("POST", "/api/v2/costs/optimization/recommendations/{recommendationId}/experiment"): Call(
        path=lambda s: {"recommendationId": "rec_" + "0" * 20}, admin=True
    ),
    ("GET", "/api/admin/feature-flags"): Call(query=lambda s: {"userId": s["user"]}, admin=True),
    ("PUT", "/api/v2/creator-accounts/{accountId}"): Call(
        path=lambda s: {"accountId": s["account"]}, body=lambda s: {"userIds": [s["user"]]}, admin=True
    ),
    ("GET", "/api/v2/creator-accounts"): Call(),
    ("DELETE", "/api/v2/creator-accounts/{accountId}"): Call(path=lambda s: {"accountId": s["account"]}, admin=True),
    ("GET", "/api/v2/costs/compare"): Call(query=lambda s: {"period": "week"}),
    ("GET", "/api/v2/costs/export"): Call(query=lambda s: {"groupBy": "provider", "format": "csv"}),
    ("GET", "/api/v2/billing/statements"): Call(query=lambda s: {"tenant": "artifact-tenant"}, admin=True),
    ("GET", "/dashboard"): Call(),
    ("GET", "/dashboard/{asset}"): Call(path=lambda s: {"asset": "dashboard.js"}),
    ("GET", "/api/health/hybrid-orchestrator"): Call(),
    ("GET", "/api/openapi.json"): Call(),
    ("GET", "/api/docs"): Call(),
}
ORDERED_ROUTES = sorted(
    ROUTES, key=lambda r: list(CALLS).index((r.method, r.path)) if (r.method, r.path) in CALLS else len(CALLS)
)


def http_event(route: HttpRoute, call: Call, state: State) -> dict[str, Any]:
    """The payload 2.0 event API Gateway sends for ``call`` (claims of the side's user when authorized)."""
    query = "&".join(f"{k}={v}" for k, v in call.query(state).items())
    body = b"" if call.body is None else json.dumps(call.body(state)).encode()
    path_parameters = call.path(state)
    raw_path = route.path
    for name, value in path_parameters.items():
        raw_path = raw_path.replace("{" + name + "}", value)
    authorizer = None
    if route.authorized:
        user = state["admin"] if call.admin else state["user"]
        claims: dict[str, Any] = {"sub": user, "scope": "user admin" if call.admin else "user"}
        claims.update({"iss": "artifact-tier", "aud": "hybrid-orchestrator", "exp": int(time.time()) + 600})
        authorizer = authorizer_context(claims)
    headers = [("host", "api.example.test"), ("user-agent", "artifact-tier")]
    if body:
        headers.append(("content-type", "application/json"))
    return build_http_event(
        method=route.method,
        raw_path=raw_path,
        raw_query=query,
        headers=headers,
        body=body,
        route_key=f"{route.method} {route.path}",
        source_ip="203.0.113.7",
        authorizer=authorizer,
        path_parameters=path_parameters or None,
    )


def answer_shape(result: Any) -> dict[str, Any]:
    """What must match between the two runs: status, content type, and the envelope's keys (not its values)."""
    status, headers, raw = parse_handler_result(result)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    shape: dict[str, Any] = {"status": status, "content_type": content_type.split(";")[0]}
    if "json" not in content_type:
        shape["body_starts"] = raw[:15]
        return shape
    body = json.loads(raw)
    shape["keys"] = sorted(body) if isinstance(body, dict) else type(body).__name__
    for part in ("data", "error", "metrics"):
        if isinstance(body, dict) and isinstance(body.get(part), dict):
            shape[f"{part}_keys"] = sorted(body[part])
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        shape["error_code"] = body["error"].get("code")
    # A health answer's values matter too: both runs probe the same services, so a dependency the
    # artifact cannot import (its cache client, say) shows up as a different check status.
    report = body.get("data") if isinstance(body, dict) and isinstance(body.get("data"), dict) else body
    if isinstance(report, dict) and isinstance(report.get("checks"), dict):
        shape["health"] = {"status": report.get("status")} | {
            name: check.get("status") for name, check in report["checks"].items()
        }
    return shape


def data_of(result: Any) -> Any:
    """The envelope's ``data`` (the whole body when it is JSON without one; None for a page)."""
    _, headers, raw = parse_handler_result(result)
    if not any(k.lower() == "content-type" and "json" in v for k, v in headers):
        return None
    body = json.loads(raw)
    return body.get("data") if isinstance(body, dict) and "data" in body else body


@pytest.fixture(scope="module")
def states() -> dict[str, State]:
    """Each side's own users and the ids its calls created, so neither sees the other's data."""
    run = uuid.uuid4().hex[:8]
    return {
        side: {"user": f"{side}-owner-{run}", "admin": f"{side}-admin-{run}", "account": f"acct-{side}-{run}"}
        for side in SIDES
    }


def test_every_route_and_function_is_exercised() -> None:
    missing = [f"{r.method} {r.path}" for r in ROUTES if (r.method, r.path) not in CALLS]
    assert not missing, f"give these routes a call in CALLS: {missing}"
    served = {r.function for r in ROUTES} | {s.name for s in FUNCTIONS.values() if s.consumes or s.streams}
    unserved = set(FUNCTIONS) - served
    assert served == set(FUNCTIONS), f"functions neither routed nor consuming a queue or stream: {unserved}"


def test_every_function_deploys_on_the_runtime_with_its_layers(assembly) -> None:
    assert set(assembly) == set(FUNCTIONS)
    for name, function in assembly.items():
        assert function.runtime == f"python{c.PYTHON_VERSION}", name
        assert len(function.layer_dirs) == 2, (name, function.layer_dirs)
        assert function.unzipped_mb() < LAMBDA_ZIP_LIMIT_MB, (name, function.unzipped_mb())
        module_path = function.handler.rpartition(".")[0].replace(".", "/") + ".py"
        assert (function.code_dir / module_path).is_file(), f"{name}: handler {function.handler} names no file"
    # Both layers land in the same /opt: a file in both would silently shadow the other.
    deps, shared = (layer / "python" for layer in assembly["campaign"].layer_dirs)
    clashes = {p.name for p in deps.iterdir()} & {p.name for p in shared.iterdir()}
    assert not clashes, clashes


@pytest.mark.parametrize("route", ORDERED_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_http_function_answers_as_in_the_dev_run(artifact, states, route: HttpRoute) -> None:
    call = CALLS[(route.method, route.path)]
    invocation = artifact.invoke(route.function, http_event(route, call, states["artifact"]))
    deployed = invocation.result
    local = artifact.in_process(route.function, http_event(route, call, states["in_process"]))
    assert answer_shape(deployed) == answer_shape(local), invocation.tail()
    assert invocation.report["python"] == c.PYTHON_VERSION
    assert invocation.report["foreign_modules"] == [], "modules loaded from outside the artifact and the runtime"
    assert invocation.report["layer_modules_without_bytecode"] == [], "layer modules without cpython-312 byte code"
    if route.path == "/api/openapi.json":
        assert data_of(deployed) == data_of(local), "the deployed OpenAPI document differs from the source tree's"
    for side, result in (("artifact", deployed), ("in_process", local)):
        call.keep(states[side], data_of(result))


def _receive(stack: Any, queue_name: str, wanted: Callable[[dict[str, Any]], bool], count: int) -> tuple[list, str]:
    """``count`` messages of ``queue_name`` that ``wanted`` accepts (others go back at once), and the queue ARN."""
    sqs = stack.moto.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while len(found) < count and time.monotonic() < deadline:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        for message in batch:
            if wanted(message):
                found.append(message)
            else:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert len(found) == count, f"{queue_name}: {len(found)} of {count} messages arrived"
    return found, arn


def _delete(stack: Any, queue_name: str, messages: list[dict[str, Any]]) -> None:
    """What the event source mapping does after a batch with no reported failure."""
    sqs = stack.moto.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _campaign(artifact, body: dict[str, Any], user: str) -> tuple[int, Any]:
    route = next(r for r in ROUTES if r.function == "campaign")
    event = http_event(route, Call(body=lambda s: body), {"user": user, "admin": user})
    status, _, raw = parse_handler_result(artifact.invoke("campaign", event).result)
    return status, json.loads(raw)


def _workflow(artifact, workflow_id: str, user: str) -> dict[str, Any]:
    route = next(r for r in ROUTES if r.function == "status")
    event = http_event(route, Call(query=lambda s: {"workflowId": workflow_id}), {"user": user, "admin": user})
    status, _, raw = parse_handler_result(artifact.invoke("status", event).result)
    assert status == 200, raw
    return json.loads(raw)["data"]


def test_workflow_runner_runs_an_async_campaign_off_the_queue(artifact, local_stack) -> None:
    user = f"artifact-async-{uuid.uuid4().hex[:8]}"
    status, body = _campaign(artifact, {**CAPTION, "mode": "async"}, user)
    assert status == 202, body
    workflow_id = body["data"]["workflowId"]
    queue = local_stack.env["WORKFLOWS_QUEUE_NAME"]
    messages, arn = _receive(local_stack, queue, lambda m: workflow_id in m["Body"], 1)
    response = artifact.invoke("workflow_runner", sqs_event(messages, arn)).result
    assert response == {"batchItemFailures": []}
    _delete(local_stack, queue, messages)
    assert _workflow(artifact, workflow_id, user)["status"] == "completed"


def test_message_sender_sends_a_fan_campaign_through_the_limiter(artifact, local_stack) -> None:
    user, account = f"artifact-fans-{uuid.uuid4().hex[:8]}", f"creator_{uuid.uuid4().hex[:10]}"
    fans = ["fan-1", "fan-2", "fan-3"]
    data = {"accountId": account, "recipients": fans, "theme": "thanks for subscribing"}
    link = Call(path=lambda s: {"accountId": account}, body=lambda s: {"userIds": [user]}, admin=True)
    put = next(r for r in ROUTES if r.function == "creator_accounts" and r.method == "PUT")
    linked = parse_handler_result(
        artifact.invoke("creator_accounts", http_event(put, link, {"admin": "artifact-ops"})).result
    )
    assert linked[0] == 200, linked
    status, body = _campaign(artifact, {"type": "fan_messages", "platforms": ["onlyfans"], "data": data}, user)
    assert status == 200, body
    workflow_id = body["data"]["workflowId"]
    assert body["data"]["counts"]["queued"] == len(fans), body
    queue = local_stack.env["MESSAGES_QUEUE_NAME"]
    messages, arn = _receive(local_stack, queue, lambda m: workflow_id in m["Body"], len(fans))
    response = artifact.invoke("message_sender", sqs_event(messages, arn)).result
    assert response == {"batchItemFailures": []}
    _delete(local_stack, queue, messages)
    sent = sorted(s["recipientId"] for s in local_stack.gateway.sent() if s["accountId"] == account)
    assert sent == fans
    assert _workflow(artifact, workflow_id, user)["counts"]["sent"] == len(fans)


def test_cost_aggregator_folds_a_real_stream_batch(artifact, local_stack) -> None:
    """A cost event recorded in the table reaches the aggregator as Lambda hands it a stream batch."""
    from shared.ledger.events import CostEvent
    from shared.ledger.keys import Scope
    from shared.wiring import container

    user = f"artifact-ledger-{uuid.uuid4().hex[:8]}"
    event = CostEvent(
        request_id=f"wf_artifact_{user}#generate#0",
        provider="openai",
        model="gpt-4o-mini",
        deployment="gpt-4o-mini",
        campaign_type="caption",
        campaign_id=f"wf_artifact_{user}",
        user_id=user,
        tenant=None,
        input_tokens=10,
        output_tokens=20,
        micros=14,
        nanos=13_500,
        at=time.time(),
    )
    assert container.cost_ledger().record(event)
    streams = local_stack.moto.client("dynamodbstreams")
    arn = streams.list_streams(TableName=local_stack.env["COST_TABLE_NAME"])["Streams"][0]["StreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        page = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
        records += [r for r in page["Records"] if r["dynamodb"].get("NewImage", {}).get("userId", {}).get("S") == user]
    assert len(records) == 1
    response = artifact.invoke("cost_aggregator", stream_event(records, arn)).result
    assert response == {"batchItemFailures": []}
    deadline = time.monotonic() + 10  # the local stream poller may fold it too: exactly once either way
    while container.cost_ledger().stats(Scope(user), event.day).day_total.nanos != 13_500:
        assert time.monotonic() < deadline, "the aggregator's fold never showed in the user's stats"
        time.sleep(0.2)
