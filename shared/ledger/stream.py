"""The costs table's stream as the aggregator receives it: cost events out of stream records, and their shard.

Lambda's DynamoDB stream event says which stream a record comes from (``eventSourceARN``) and its
``SequenceNumber``, but not its shard (a DynamoDB record's ``eventID`` is a random id, unlike Kinesis's
``shardId-…:<sequence>``). The high-water marks are per shard, so :class:`StreamShards` finds it:
``DescribeStream`` (cached per container, read again when a sequence number falls past what it knows)
gives each shard's ``SequenceNumberRange``, and a record belongs to the shard whose range holds its
sequence number — the one with the largest start at or below it, and, once closed, an end at or above it.
A batch whose first and last records do not land in one shard is refused (retried, then dead-lettered)
rather than folded under a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.core.dynamo import deserialize_item
from shared.ledger.aggregator import StreamedEvent, padded_sequence
from shared.ledger.events import CostEvent
from shared.ledger.keys import EVENT_PREFIX


class ShardNotFoundError(RuntimeError):
    """No shard of the stream (or more than one) holds the batch's sequence numbers."""


def event_from_image(image: Mapping[str, Any]) -> CostEvent | None:
    """The cost event a stream record's ``NewImage`` holds; None for any other item of the table."""
    return event_from_item(deserialize_item(image))


def event_from_item(item: Mapping[str, Any]) -> CostEvent | None:
    """The cost event a stored event item holds (:func:`shared.ledger.ledger.event_item`); None for others."""
    if not str(item.get("pk", "")).startswith(EVENT_PREFIX):
        return None
    return CostEvent(
        request_id=str(item["requestId"]),
        provider=str(item["provider"]),
        model=str(item["model"]),
        deployment=str(item.get("deployment") or item["model"]),
        campaign_type=str(item["campaignType"]),
        campaign_id=str(item["campaignId"]),
        user_id=str(item["userId"]),
        tenant=item.get("tenant"),
        input_tokens=int(item["tokensIn"]),
        output_tokens=int(item["tokensOut"]),
        micros=int(item["costMicros"]),
        nanos=int(item["costNanos"]) if item.get("costNanos") is not None else None,
        cached_tokens=int(item.get("tokensCached", 0)),
        reasoning_tokens=int(item.get("tokensReasoning", 0)),
        at=float(item["at"]),
        status=str(item.get("status", "ok")),
        fallback=bool(item.get("fallback", False)),
        latency_ms=int(item["latencyMs"]) if item.get("latencyMs") is not None else None,
        experiment=item.get("experiment"),
        variant=item.get("variant"),
    )


def streamed_event(record: Mapping[str, Any]) -> StreamedEvent | None:
    """One Lambda stream record as a :class:`StreamedEvent` (None: not an inserted cost event)."""
    if record.get("eventName") != "INSERT":
        return None
    change = record["dynamodb"]
    event = event_from_image(change.get("NewImage") or {})
    return None if event is None else StreamedEvent(padded_sequence(str(change["SequenceNumber"])), event)


@dataclass(frozen=True)
class _Shard:
    shard_id: str
    start: int
    end: int | None  # None while the shard is open


class StreamDescriber(Protocol):
    """The one DynamoDB Streams call the locator makes (a botocore ``dynamodbstreams`` client)."""

    def describe_stream(self, **kwargs: Any) -> dict[str, Any]: ...


class StreamShards:
    """Which shard a batch came from, from the stream's description (cached, refreshed on a miss)."""

    def __init__(self, client: StreamDescriber) -> None:
        self._client = client
        self._shards: dict[str, list[_Shard]] = {}

    def shard_of(self, stream_arn: str, sequences: Sequence[str]) -> str:
        """The one shard holding every sequence number given (the batch's first and last suffice)."""
        for refresh in (False, True):
            if refresh or stream_arn not in self._shards:
                self._shards[stream_arn] = self._describe(stream_arn)
            found = {self._locate(self._shards[stream_arn], int(s)) for s in sequences}
            if len(found) == 1 and None not in found:
                return str(found.pop())
        raise ShardNotFoundError(f"no single shard of {stream_arn} holds sequence numbers {list(sequences)}")

    @staticmethod
    def _locate(shards: list[_Shard], sequence: int) -> str | None:
        holding = [s for s in shards if s.start <= sequence and (s.end is None or sequence <= s.end)]
        return max(holding, key=lambda s: s.start).shard_id if holding else None

    def _describe(self, stream_arn: str) -> list[_Shard]:
        shards: list[_Shard] = []
        params: dict[str, Any] = {"StreamArn": stream_arn}
        while True:
            description = self._client.describe_stream(**params)["StreamDescription"]
            for shard in description.get("Shards", []):
                numbers = shard.get("SequenceNumberRange", {})
                if "StartingSequenceNumber" not in numbers:
                    continue  # a shard that has no record yet holds none of ours
                end = numbers.get("EndingSequenceNumber")
                shards.append(
                    _Shard(shard["ShardId"], int(numbers["StartingSequenceNumber"]), int(end) if end else None)
                )
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            params["ExclusiveStartShardId"] = last
