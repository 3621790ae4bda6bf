"""What a campaign costs in AWS requests, counted on the wire, against what it costs in AI tokens.

A local stack (API, moto server in its own process with moto's request recorder on, the provider
simulator) runs the real handlers; the queue and stream pollers are driven from here, one phase at a
time, so every request the moto server receives belongs to one phase of one campaign:

1. **request**: the campaign's HTTP call (the campaign function: workflow writes, the cost event put,
   the route's reads, message states, ``SendMessageBatch``);
2. **drain** (fan messages): the rate-limited queue's mapping, as Lambda polls it, until every message
   is sent: ``ReceiveMessage`` that carried messages and ``DeleteMessageBatch`` (both billed to the account
   for SQS triggers), the sender's idempotency records and workflow count updates. Empty receives are
   left out: a mapping's long polls cost the same with or without traffic (a fixed cost, not a message's);
3. **fold**: the costs table's stream mapping through the cost aggregator: its ``UpdateItem`` per counter,
   the alerts' reads, any marker put and SNS publish. The stream reads (``DescribeStream``,
   ``GetShardIterator``, ``GetRecords``) are free when Lambda's event source mapping makes them, so they
   are listed, not priced.

Units follow DynamoDB's on-demand rules: a write is 1 write request unit per started KB of the item (the
item as the request writes it for a put, as it stands afterwards for an update, x2 inside a transaction);
a read is 0.5 read request unit per started 4 KB, eventually consistent, 1 strongly consistent (x2 in a
transaction); a Query is priced on the total size of the items it returns, re-read right after the phase.
SQS: one request per started 64 KB of payload; SNS publish likewise. Prices are us-east-1 list prices
(USD per million): DynamoDB on-demand writes 0.625, reads 0.125; SQS standard 0.40; SNS publish 0.50.
The AI cost is what the product's price table makes of the simulator's reported tokens (``metrics.cost``).

Sync ``caption`` campaigns are measured one at a time, each folded alone (low traffic: a campaign's event
is a batch of one), on warm containers; the request path's DynamoDB count is the median over them.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from bench.ledger_stream import attribute_size
from bench.stats import Row, median, verdict, write_json

PRICES_PER_MILLION = {"wru": 0.625, "rru": 0.125, "sqs": 0.40, "sns": 0.50}
CAPTIONS = 10
FAN_RECIPIENTS = 10  # the default OF_RATE_LIMIT: the campaign fits one window, nothing is deferred
FAN_TARGET_PCT = 10.0
CAPTION_TARGET_PCT = 20.0
REQUEST_PATH_TARGET = 3
FREE_STREAM_READS = ("DescribeStream", "GetShardIterator", "GetRecords", "ListStreams")
CHUNK = 64 * 1024


def item_size(item: dict[str, Any] | None) -> int:
    """DynamoDB's size of an item (attribute names plus values), 0 for none."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def parse(entry: dict[str, Any]) -> tuple[str, str, Any, int]:
    """``(service, operation, body, payload bytes)`` of one recorded request."""
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    raw = entry.get("body") or ""
    data = base64.b64decode(raw) if entry.get("body_encoded") else raw.encode()
    target = headers.get("x-amz-target", "")
    if target:
        prefix, operation = target.rsplit(".", 1)
        service = {"DynamoDB_20120810": "dynamodb", "DynamoDBStreams_20120810": "dynamodbstreams"}.get(
            prefix, "sqs" if prefix == "AmazonSQS" else prefix.lower()
        )
        return service, operation, json.loads(data or b"{}"), len(data)
    form = {k: v[0] for k, v in parse_qs(data.decode()).items()}
    service = "sns" if "sns" in headers.get("authorization", "") else "other"
    return service, form.get("Action", "?"), form, len(data)


class Pricer:
    """Units of recorded requests, sizing items against the moto server right after their phase."""

    def __init__(self, dynamodb: Any) -> None:
        self._ddb = dynamodb

    def _current(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        return self._ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def dynamo(self, operation: str, body: dict[str, Any], written: dict[str, int]) -> tuple[float, float]:
        """(write units, read units) of one DynamoDB request; ``written`` sizes items put earlier in the phase."""
        table = body.get("TableName", "")
        consistent = bool(body.get("ConsistentRead"))
        if operation == "PutItem":
            size = item_size(body["Item"])
            written[_ref(table, body["Item"])] = size
            return write_units(size), 0.0
        if operation in ("UpdateItem", "DeleteItem"):
            size = item_size(self._current(table, body["Key"])) or written.get(_ref(table, body["Key"]), 0)
            return write_units(size), 0.0
        if operation == "GetItem":
            return 0.0, read_units(item_size(self._current(table, body["Key"])), consistent)
        if operation == "BatchGetItem":
            units = 0.0
            for name, spec in body["RequestItems"].items():
                for key in spec["Keys"]:
                    units += read_units(item_size(self._current(name, key)), bool(spec.get("ConsistentRead")))
            return 0.0, units
        if operation == "Query":
            query = {k: v for k, v in body.items() if k not in ("ExclusiveStartKey",)}
            items = self._ddb.query(**query).get("Items", [])
            return 0.0, read_units(sum(item_size(i) for i in items), consistent)
        if operation == "TransactWriteItems":
            units = 0.0
            for entry in body["TransactItems"]:
                ((kind, op),) = entry.items()
                current = op["Item"] if kind == "Put" else self._current(op["TableName"], op["Key"])
                size = item_size(current)
                units += 2 * write_units(size)
            return units, 0.0
        if operation == "BatchWriteItem":
            units = 0.0
            for name, requests in body["RequestItems"].items():
                for request in requests:
                    put = request.get("PutRequest")
                    size = (
                        item_size(put["Item"])
                        if put
                        else item_size(self._current(name, request["DeleteRequest"]["Key"]))
                    )
                    units += write_units(size)
            return units, 0.0
        return 0.0, 0.0  # DescribeTable and the like: control plane, not billed per request


def _ref(table: str, item: dict[str, Any]) -> str:
    return table + json.dumps({k: v for k, v in sorted(item.items()) if k in ("pk", "sk", "id", "workflowId")})


def price_phase(recording: list[dict[str, Any]], pricer: Pricer, empty_receives: int = 0) -> dict[str, Any]:
    """Requests by ``service operation``, units and USD of one phase's recording."""
    requests: Counter[str] = Counter()
    wru = rru = 0.0
    sqs = sns = 0
    written: dict[str, int] = {}
    skipped_receives = 0
    for entry in recording:
        service, operation, body, size = parse(entry)
        if service == "sqs" and operation == "ReceiveMessage" and skipped_receives < empty_receives:
            skipped_receives += 1
            requests["sqs ReceiveMessage (empty, not priced)"] += 1
            continue
        if service == "dynamodbstreams" and operation in FREE_STREAM_READS:
            requests[f"streams {operation} (free for Lambda)"] += 1
            continue
        requests[f"{service} {operation}"] += 1
        if service == "dynamodb":
            w, r = pricer.dynamo(operation, body, written)
            wru, rru = wru + w, rru + r
        elif service == "sqs":
            sqs += max(1, math.ceil(size / CHUNK))
        elif service == "sns" and operation == "Publish":
            sns += max(1, math.ceil(size / CHUNK))
    usd = (
        wru * PRICES_PER_MILLION["wru"]
        + rru * PRICES_PER_MILLION["rru"]
        + sqs * PRICES_PER_MILLION["sqs"]
        + sns * PRICES_PER_MILLION["sns"]
    ) / 1e6
    dynamo_requests = sum(v for k, v in requests.items() if k.startswith("dynamodb "))
    return {"requests": dict(requests), "dynamodb_requests": dynamo_requests, "wru": wru, "rru": rru,
            "sqs_requests": sqs, "sns_publishes": sns, "usd": usd}  # fmt: skip


def add(*phases: dict[str, Any]) -> dict[str, Any]:
    """The sum of phases."""
    total: dict[str, Any] = {"requests": Counter(), "dynamodb_requests": 0, "wru": 0.0, "rru": 0.0,
                             "sqs_requests": 0, "sns_publishes": 0, "usd": 0.0}  # fmt: skip
    for phase in phases:
        total["requests"].update(phase["requests"])
        for key in ("dynamodb_requests", "wru", "rru", "sqs_requests", "sns_publishes", "usd"):
            total[key] += phase[key]
    total["requests"] = dict(total["requests"])
    return total


class Bench:
    """A local stack whose pollers this object drives, phase by phase, with moto recording every request."""

    def __init__(self, stack: Any) -> None:
        from local.queue_poller import QueuePoller, event_sources
        from local.stream_poller import StreamPoller, stream_sources

        self.stack = stack
        self.moto = stack.moto
        physical = stack.resources.physical
        arns = {lid: p.attributes.get("Arn", "") for lid, p in physical.items()}
        sqs = self.moto.client("sqs")
        messages = next(
            s for s in event_sources(stack.template, stack.resources.queue_arns, arns) if s.function == "message_sender"
        )
        self.sender = QueuePoller(sqs, messages, stack.handlers.get("message_sender"), wait_s=0)
        streams = {lid: p.attributes["StreamArn"] for lid, p in physical.items() if p.attributes.get("StreamArn")}
        urls = {lid: p.attributes["QueueUrl"] for lid, p in physical.items() if "QueueUrl" in p.attributes}
        (source,) = stream_sources(stack.template, streams, urls)
        self.batch_size = source.batch_size
        self.folder = StreamPoller(
            self.moto.client("dynamodbstreams"), sqs, source, stack.handlers.get(source.function)
        )
        self.pricer = Pricer(self.moto.client("dynamodb"))

    def call(self, method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.stack.api_url + path, data=data, method=method)
        request.add_header("authorization", f"Bearer {token}")
        request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def phase(self, run: Any) -> tuple[Any, dict[str, Any]]:
        """Run ``run()`` with the recorder reset first; its result and the phase's priced requests."""
        self.moto.reset_recording()
        result, empty_receives = run()
        recording = self.moto.recording()
        return result, price_phase(recording, self.pricer, empty_receives)

    def fold(self, expected: int) -> tuple[int, int]:
        """Drive the stream mapping until ``expected`` event records were handed over (then one more poll)."""
        handed, deadline = 0, time.monotonic() + 60
        while handed < expected and time.monotonic() < deadline:
            handed += self.folder.poll_once()
        self.folder.poll_once()
        return handed, 0

    def drain(self, token: str, workflow_id: str, total: int) -> tuple[int, int]:
        """Drive the rate-limited queue's mapping until the workflow's messages are all sent or failed."""
        received = empty = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = self.sender.poll_once()
            received += got
            if got:
                continue
            empty += 1
            counts = self._counts(token, workflow_id)
            if counts["sent"] + counts["failed"] >= total:
                return received, empty
            time.sleep(0.2)
        raise TimeoutError(f"{workflow_id}: messages not drained")

    def _counts(self, token: str, workflow_id: str) -> dict[str, int]:
        """The workflow's counts, read with the recorder paused (the check is the bench's, not the campaign's)."""
        self._recorder("stop-recording")
        try:
            return self.call("GET", f"/api/v2/campaigns/status?workflowId={workflow_id}&limit=1", token)["data"][
                "counts"
            ]
        finally:
            self._recorder("start-recording")

    def _recorder(self, action: str) -> None:
        request = urllib.request.Request(f"{self.moto.url}/moto-api/recorder/{action}", method="POST")
        urllib.request.urlopen(request, timeout=10).close()


def caption_campaign(bench: Bench, token: str) -> dict[str, Any]:
    """One sync caption: its request phase and its fold, alone."""
    body = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "spring launch", "tone": "playful"}}
    answer, request = bench.phase(lambda: (bench.call("POST", "/api/v2/campaigns/hybrid", token, body), 0))
    _, fold = bench.phase(lambda: bench.fold(1))
    cost = answer["metrics"]["cost"]
    tokens = [cost["inputTokens"], cost["outputTokens"]]
    return {"request": request, "fold": fold, "ai_micros": cost["costMicros"], "tokens": tokens,
            "model": answer["data"]["model"]}  # fmt: skip


def caption_batch(bench: Bench, token: str, count: int) -> dict[str, Any]:
    """``count`` sync captions of one user, then their events folded as one batch (traffic, not a lone call)."""
    body = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "summer launch", "tone": "warm"}}

    def requests() -> tuple[list[dict[str, Any]], int]:
        return [bench.call("POST", "/api/v2/campaigns/hybrid", token, body) for _ in range(count)], 0

    answers, request = bench.phase(requests)
    _, fold = bench.phase(lambda: bench.fold(count))
    costs = [a["metrics"]["cost"] for a in answers]
    return {"request": request, "fold": fold, "count": count, "ai_micros": sum(c["costMicros"] for c in costs),
            "tokens": [sum(c["inputTokens"] for c in costs), sum(c["outputTokens"] for c in costs)],
            "model": answers[0]["data"]["model"]}  # fmt: skip


def fan_campaign(bench: Bench, token: str, admin: str, account: str, recipients: int) -> dict[str, Any]:
    """One sync fan_messages campaign: request, drain, fold."""
    bench.call("PUT", f"/api/v2/creator-accounts/{account}", admin, {"userIds": [_user(token)]})
    fans = [f"fan-{n}" for n in range(recipients)]
    body = {"type": "fan_messages", "platforms": ["onlyfans"],
            "data": {"accountId": account, "recipients": fans, "theme": "a new set this weekend"}}  # fmt: skip
    answer, request = bench.phase(lambda: (bench.call("POST", "/api/v2/campaigns/hybrid", token, body), 0))
    workflow_id = answer["data"]["workflowId"]
    received, drain = bench.phase(lambda: bench.drain(token, workflow_id, recipients))
    _, fold = bench.phase(lambda: bench.fold(recipients))
    cost = answer["metrics"]["cost"]
    return {"request": request, "drain": drain, "fold": fold, "received": received, "ai_micros": cost["costMicros"],
            "tokens": [cost["inputTokens"], cost["outputTokens"]], "model": answer["data"]["model"],
            "counts": answer["data"].get("counts")}  # fmt: skip


_USERS: dict[str, str] = {}


def _user(token: str) -> str:
    return _USERS[token]


def measure() -> dict[str, Any]:
    from local.stack import LocalStack
    from local.token import make_token

    recording = Path(tempfile.mkdtemp(prefix="bench-requests-")) / "moto_recording"
    with LocalStack(
        moto_mode="process", sim_mode="process", drain_queues=False, recording_path=str(recording)
    ) as stack:
        bench = Bench(stack)
        user = f"bench-{time.monotonic_ns()}"
        token, admin = make_token(user), make_token("bench-admin", admin=True)
        _USERS[token] = user
        # Warm every container (campaign, message_sender, cost_aggregator) on another account's limit.
        caption_campaign(bench, token)
        fan_campaign(bench, token, admin, "creator_warm", 1)
        captions = [caption_campaign(bench, token) for _ in range(CAPTIONS)]
        batched = caption_batch(bench, token, CAPTIONS)
        fan = fan_campaign(bench, token, admin, "creator_bench", FAN_RECIPIENTS)
    return {
        "captions": captions,
        "caption_batch": batched,
        "fan": fan,
        "batch_size": bench.batch_size,
        "prices_per_million": PRICES_PER_MILLION,
    }


def _requests(phase: dict[str, Any], per: float = 1.0) -> str:
    shown = sorted(phase["requests"].items())
    return ", ".join(f"{name} {count / per:.2g}" for name, count in shown)


def _inputs(aws: dict[str, Any], ai_micros: float, per: float, tokens: list[float], model: str) -> str:
    p = PRICES_PER_MILLION
    return (
        f"AWS ${aws['usd'] / per:.8f} = ({aws['wru'] / per:.2f} WRU x ${p['wru']}/M + {aws['rru'] / per:.2f} RRU x "
        f"${p['rru']}/M + {aws['sqs_requests'] / per:.2f} SQS x ${p['sqs']}/M + {aws['sns_publishes'] / per:.2f} SNS "
        f"x ${p['sns']}/M) vs AI ${ai_micros / per / 1e6:.8f} ({tokens[0] / per:.0f} in + {tokens[1] / per:.0f} out "
        f"tokens, {model})"
    )


def rows(data: dict[str, Any]) -> list[Row]:
    """The request-cost rows of the one table."""
    fan, captions = data["fan"], data["captions"]
    n = FAN_RECIPIENTS
    fan_total = add(fan["request"], fan["drain"], fan["fold"])
    fan_pct = 100 * fan_total["usd"] / (fan["ai_micros"] / 1e6)
    caption_total = add(*(add(c["request"], c["fold"]) for c in captions))
    caption_ai = sum(c["ai_micros"] for c in captions)
    caption_tokens = [sum(c["tokens"][i] for c in captions) for i in (0, 1)]
    caption_pct = 100 * caption_total["usd"] / (caption_ai / 1e6)
    path_counts = [c["request"]["dynamodb_requests"] for c in captions]
    path = median(path_counts)
    first = captions[0]["request"]
    return [
        Row(
            f"cost: AWS requests per fan message vs its AI cost ({n} fans)",
            f"{fan_pct:.1f} %",
            _inputs(fan_total, fan["ai_micros"], n, fan["tokens"], fan["model"]),
            target=f"<= {FAN_TARGET_PCT:.0f} %",
            result=verdict(fan_pct <= FAN_TARGET_PCT),
            detail=f"counts {fan['counts']}; received {fan['received']}",
        ),
        Row(
            "cost: fan message requests, per message",
            f"request: {_requests(fan['request'], n)}",
            f"drain: {_requests(fan['drain'], n)}; fold: {_requests(fan['fold'], n)}",
            detail=json.dumps({k: fan[k] for k in ("request", "drain", "fold")}),
        ),
        Row(
            "cost: AWS requests per sync caption vs its AI cost",
            f"{caption_pct:.1f} % (each folded alone: a batch of one)",
            _inputs(caption_total, caption_ai, len(captions), caption_tokens, captions[0]["model"]),
            target=f"<= {CAPTION_TARGET_PCT:.0f} %",
            result=verdict(caption_pct <= CAPTION_TARGET_PCT),
            detail=f"{len(captions)} campaigns, each folded alone (a batch of one)",
        ),
        *_batched_caption_rows(data),
        Row(
            "cost: sync caption requests, per campaign",
            f"request: {_requests(add(*(c['request'] for c in captions)), len(captions))}",
            f"fold: {_requests(add(*(c['fold'] for c in captions)), len(captions))}",
        ),
        Row(
            "cost: DynamoDB requests on a sync campaign's path (warm, no cap)",
            f"{path:g} (median of {len(path_counts)}: {path_counts}); the overrides' version: 1 Redis GET",
            f"first: {_requests(first)}; deployed (no Redis): +1 GetItem per container and second",
            target=f"<= {REQUEST_PATH_TARGET}",
            result=verdict(path <= REQUEST_PATH_TARGET),
            detail=(
                "local stack: the campaign function reaches Redis, so the routing overrides cost one Redis GET of "
                "their version (a GetItem only when it moved); deployed, the functions that call providers stay "
                "outside Redis's VPC and trust the overrides they read for ROUTING_OVERRIDES_CACHE_S = 1 s (one "
                "GetItem per container and second)"
            ),
        ),
    ]


def _batched_caption_rows(data: dict[str, Any]) -> list[Row]:
    """For information: the same captions under traffic, one user's, folded as one stream batch."""
    batched = data.get("caption_batch")
    if not batched:
        return []
    n = batched["count"]
    total = add(batched["request"], batched["fold"])
    pct = 100 * total["usd"] / (batched["ai_micros"] / 1e6)
    return [
        Row(
            f"cost: the same, {n} captions of one user folded in one batch",
            f"{pct:.1f} %",
            _inputs(total, batched["ai_micros"], n, batched["tokens"], batched["model"]),
            detail=f"fold: {_requests(batched['fold'], n)}",
        )
    ]


def main() -> None:
    """``python -m bench.request_cost --out FILE``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    write_json(Path(parser.parse_args().out), measure())


if __name__ == "__main__":
    main()
