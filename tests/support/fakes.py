"""In-memory fakes of our storage ports and providers, for tests that need no network at all."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerPersistenceLayer
from aws_lambda_powertools.utilities.circuit_breaker.persistence.base import CircuitBreakerExistingLockError
from aws_lambda_powertools.utilities.circuit_breaker.persistence.record import CircuitStateRecord
from aws_lambda_powertools.utilities.circuit_breaker.states import CircuitState

from shared.alerts.rules import AlertRecord, AlertRule, rules_limit_error
from shared.alerts.thresholds import (
    GLOBAL_OWNER,
    SpendThreshold,
    applicable_of,
    hard_cap_of,
    tenant_owner,
    thresholds_limit_error,
)
from shared.campaigns.models import Workflow
from shared.core.errors import CreatorAccountConflictError, RoutingConflictError
from shared.core.pricing import PriceTable
from shared.creator_accounts import AccountPage, CreatorAccount, CreatorAccountService
from shared.ledger.aggregator import CostAggregator, StreamedEvent, padded_sequence
from shared.ledger.store import Counters
from shared.ledger.stream import event_from_item
from shared.routing.candidates import RouteCandidate
from shared.routing.overrides import Route, RouteChange, RoutingOverrides
from shared.routing.router import ProviderRouter, RetryPolicy, RouteOverrides, breaker_config
from shared.routing.types import ChatMessage, ChatProvider, Completion


class InMemoryCircuitStore(CircuitBreakerPersistenceLayer):
    """Circuit state in a dict; share one ``records`` dict between instances to act as one store."""

    def __init__(self, records: dict[str, CircuitStateRecord] | None = None) -> None:
        super().__init__()
        self.records = records if records is not None else {}

    def _get_record(self, name: str) -> CircuitStateRecord | None:
        record = self.records.get(name)
        return copy.copy(record) if record else None

    def _put_record(
        self, record: CircuitStateRecord, condition: str | None = None, expected_opened_at: int | None = None
    ) -> None:
        if condition == "half_open":
            current = self.records.get(record.name)
            if current is None or current.state != CircuitState.OPEN or current.half_open_owner is not None:
                raise CircuitBreakerExistingLockError(record.name)
            if expected_opened_at is not None and current.opened_at != expected_opened_at:
                raise CircuitBreakerExistingLockError(record.name)
        self.records[record.name] = copy.copy(record)

    def _update_record(self, record: CircuitStateRecord) -> None:
        self.records[record.name] = copy.copy(record)

    def age_open_circuit(self, name: str, seconds: int) -> None:
        """Move an open circuit's opening ``seconds`` into the past, as if its recovery window had run."""
        record = self.records[name]
        assert record.state == CircuitState.OPEN and record.opened_at is not None, record
        record.opened_at -= seconds


class ScriptedProvider:
    """A provider that answers from a script: each entry is a Completion to return or an exception to raise."""

    def __init__(self, name: str, script: Sequence[Completion | Exception] = ()) -> None:
        self.name = name
        self.script = list(script)
        self.calls: list[dict] = []

    def complete(self, model: str, messages: Sequence[ChatMessage], *, timeout_s: float, max_tokens: int) -> Completion:
        self.calls.append({"model": model, "timeout_s": timeout_s, "max_tokens": max_tokens})
        result = self.script.pop(0) if self.script else completion()
        if isinstance(result, Exception):
            raise result
        return result


def scripted_router(
    routing_table: Mapping[str, Sequence[RouteCandidate]],
    prices: PriceTable,
    openai: ChatProvider | Sequence[Completion | Exception] = (),
    azure: ChatProvider | Sequence[Completion | Exception] = (),
    overrides: RouteOverrides | None = None,
) -> ProviderRouter:
    """The real router over scripted providers (a script, or a provider the test keeps), one attempt per
    candidate, an in-memory breaker that never opens in a test's volume, and no sleeping."""

    def provider(name: str, given: ChatProvider | Sequence[Completion | Exception]) -> ChatProvider:
        return given if hasattr(given, "complete") else ScriptedProvider(name, given)  # type: ignore[arg-type]

    return ProviderRouter(
        routing_table={kind: list(candidates) for kind, candidates in routing_table.items()},
        providers={"openai": provider("openai", openai), "azure": provider("azure", azure)},
        prices=prices,
        breaker_store=InMemoryCircuitStore(),
        breaker_config=breaker_config(1000, 30, 1, 0),
        policy=RetryPolicy(max_attempts=1),
        sleep=lambda _: None,
        overrides=overrides,
    )


def completion(content: str = "ok", input_tokens: int = 100, output_tokens: int = 50) -> Completion:
    """A successful completion with the given usage."""
    return Completion(content=content, input_tokens=input_tokens, output_tokens=output_tokens, reported_model="x")


class InMemoryWorkflowStore:
    """The workflow repository in a dict, keeping every saved version for assertions."""

    def __init__(self) -> None:
        self.items: dict[str, Workflow] = {}
        self.history: list[Workflow] = []

    def save(self, workflow: Workflow) -> None:
        self.items[workflow.workflow_id] = workflow
        self.history.append(workflow)

    def get(self, workflow_id: str) -> Workflow | None:
        return self.items.get(workflow_id)


SHARD = "shardId-00000001700000000000-0000test"


class InMemoryCostStore:
    """The costs table in a dict, with DynamoDB's semantics: conditional writes, the counters' shard marks,
    ``UPDATED_NEW``, BETWEEN queries.

    A lock stands in for DynamoDB's per-item isolation, so threads can hammer one instance. ``requests``
    counts calls per operation, like the botocore hook the benchmarks use. Failure injection for the
    aggregator: ``before_update`` may raise (the update never reaches the table), ``after_update`` may raise
    once the update is applied (a crash or a lost response: applied, but the caller does not know).

    ``fold_before_reads`` (the default) folds what the stream holds before every read, as if the reader
    had waited for the stream to drain: tests of the views and checks need no waiting; tests of the
    lag itself turn it off and call :meth:`drain`.
    """

    def __init__(self, fold_before_reads: bool = True) -> None:
        import threading

        self.items: dict[tuple[str, str], dict] = {}
        self.requests: dict[str, int] = {}
        self.before_update = None
        self.after_update = None
        self.stream: list[StreamedEvent] = []  # what the table's stream holds and no one has folded yet
        self.fold_before_reads = fold_before_reads
        self._sequence = 10**21  # stream sequence numbers have 21 digits and more
        self._lock = threading.Lock()
        self._draining = threading.Lock()

    def _count(self, operation: str) -> None:
        self.requests[operation] = self.requests.get(operation, 0) + 1

    def put_event(self, key, event) -> bool:
        if not self.put_if_absent(key, event):
            return False
        with self._lock:
            self._sequence += 1
            self.stream.append(StreamedEvent(padded_sequence(str(self._sequence)), event_from_item(self.items[key])))
        return True

    def drain(self, batch_size: int = 100, shard: str = SHARD, watch=None) -> list:
        """Fold what the stream holds into the counters, as the aggregator does, in batches of ``batch_size``,
        each batch's new totals handed to ``watch`` (a :class:`~shared.alerts.spend_watch.SpendWatch`) like the
        deployed consumer does. One drain at a time, like one batch per shard (parallelization factor 1)."""
        aggregator, results = CostAggregator(self), []
        with self._draining:
            while self.stream:
                with self._lock:
                    batch, self.stream = self.stream[:batch_size], self.stream[batch_size:]
                results.append(aggregator.apply(shard, batch))
                assert results[-1].failed_sequence is None, results[-1]
                if watch is not None:
                    watch.after_batch(results[-1].updates, [r.event for r in batch])
        return results

    def add_counter(self, increment):
        if self.before_update is not None:
            self.before_update(increment)
        with self._lock:
            self._count("UpdateItem")
            item = self.items.get(increment.key)
            mark = (item or {}).get(increment.mark)
            if mark is not None and not mark < increment.first_seq:
                return None
            item = self.items.setdefault(increment.key, {"pk": increment.key[0], "sk": increment.key[1]})
            c = increment.counters
            for name, value in (
                ("nanos", c.nanos),
                ("tokensCached", c.cached_tokens),
                ("requests", c.requests),
                ("tokensIn", c.tokens_in),
                ("tokensOut", c.tokens_out),
                ("fallbacks", c.fallbacks),
            ):
                item[name] = item.get(name, 0) + value
            for name, value in increment.extra.items():
                item[name] = item.get(name, 0) + value
            for name, label in increment.labels.items():
                item.setdefault(name, label)
            item["expiresAt"] = increment.expires_at
            item[increment.mark] = increment.last_seq
            after = Counters.from_item(item)
        if self.after_update is not None:
            self.after_update(increment)
        return after

    def high_water(self, key, mark):
        with self._lock:
            self._count("GetItem")
            return (self.items.get(key) or {}).get(mark)

    def _folded(self) -> None:
        if self.fold_before_reads and self.stream and not self._draining.locked():
            self.drain()  # a read made while folding (the alert checks) reads what is folded so far

    def get_items(self, keys, consistent=True):
        self._folded()
        with self._lock:
            self._count("BatchGetItem")
            return {key: dict(self.items[key]) for key in keys if key in self.items}

    def query(self, pk, low, high, consistent=False):
        self._folded()
        with self._lock:
            self._count("Query")
            found = [dict(item) for (p, s), item in self.items.items() if p == pk and low <= s <= high]
            return sorted(found, key=lambda item: item["sk"])

    def put_if_absent(self, key, attributes) -> bool:
        with self._lock:
            self._count("PutItem")
            if key in self.items:
                return False
            self.items[key] = {"pk": key[0], "sk": key[1], **attributes}
            return True

    def delete(self, key) -> None:
        with self._lock:
            self._count("DeleteItem")
            self.items.pop(key, None)


class MeteredRecorder:
    """The deployed pair in one object: the campaign path's recorder (one Put), then the stream's aggregator
    folding what is pending and running the alert checks on the new totals (``watch``)."""

    def __init__(self, ledger, watch) -> None:
        from shared.campaigns.cost_tracker import CostTracker

        self.store = ledger.store
        self.tracker = CostTracker(ledger)
        self.watch = watch

    def record(self, event) -> bool:
        recorded = self.tracker.record(event)
        self.drain()
        return recorded

    def drain(self) -> None:
        self.store.drain(watch=self.watch)


class OutboxPublisher:
    """An alert publisher that keeps what it was given; ``fail`` makes the next publish raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = False

    def publish(self, subject: str, body: str) -> None:
        if self.fail:
            self.fail = False
            raise ConnectionError("SNS is unreachable")
        self.sent.append((subject, body))


class InMemoryThresholdStore:
    """The spend thresholds in a dict keyed by (owner, id), with the DynamoDB store's selection rules and cap.

    Always current, so ``remembered`` and ``applicable`` agree (the marker-versioned memory of the real
    store is tried against moto); ``applicable`` ignores the markers it is given.
    """

    def __init__(self, max_per_owner: int = 50) -> None:
        import threading

        self.items: dict[tuple[str, str], SpendThreshold] = {}
        self.reads = 0
        self.max_per_owner = max_per_owner
        self._lock = threading.Lock()

    def put(self, threshold: SpendThreshold) -> None:
        with self._lock:
            if sum(owner == threshold.owner_id for owner, _ in self.items) >= self.max_per_owner:
                raise thresholds_limit_error(self.max_per_owner)
            self.items[(threshold.owner_id, threshold.threshold_id)] = threshold

    def get(self, owner_id: str, threshold_id: str) -> SpendThreshold | None:
        return self.items.get((owner_id, threshold_id))

    def list_for(self, owner_id: str) -> list[SpendThreshold]:
        self.reads += 1
        found = [t for (owner, _), t in self.items.items() if owner == owner_id]
        return sorted(found, key=lambda t: (t.created_at, t.threshold_id))

    def remembered(self, user_id: str, campaign_id: str) -> list[SpendThreshold]:
        return self.applicable(user_id, campaign_id)

    def applicable(self, user_id: str, campaign_id: str, markers=None) -> list[SpendThreshold]:
        return applicable_of(self.list_for(GLOBAL_OWNER), self.list_for(user_id), campaign_id)

    def hard_cap(self, user_id: str) -> SpendThreshold | None:
        return hard_cap_of(self.list_for(user_id))

    def tenant_cap(self, tenant_id: str) -> SpendThreshold | None:
        return hard_cap_of(self.list_for(tenant_owner(tenant_id)), "tenant")


class InMemoryAlertRuleStore:
    """Rules, send markers and history in dicts, with the DynamoDB store's conditions, ordering and cap."""

    def __init__(self, max_per_threshold: int = 10) -> None:
        self.rules: dict[tuple[str, str], AlertRule] = {}
        self.sent_until: dict[str, int] = {}
        self.records: dict[str, list[AlertRecord]] = {}
        self.max_per_threshold = max_per_threshold

    def add_rule(self, rule: AlertRule) -> None:
        if sum(r.threshold_id == rule.threshold_id for r in self.rules.values()) >= self.max_per_threshold:
            raise rules_limit_error(self.max_per_threshold)
        self.put_rule(rule)

    def put_rule(self, rule: AlertRule) -> None:
        self.rules[(rule.owner_id, rule.rule_id)] = rule

    def get_rule(self, owner_id: str, rule_id: str) -> AlertRule | None:
        return self.rules.get((owner_id, rule_id))

    def rules_of(self, owner_id: str) -> list[AlertRule]:
        found = [r for (owner, _), r in self.rules.items() if owner == owner_id]
        return sorted(found, key=lambda r: (r.created_at, r.rule_id))

    def claim_send(self, rule_id: str, now: float, window_s: int) -> bool:
        if rule_id in self.sent_until and not self.sent_until[rule_id] < int(now):
            return False
        self.sent_until[rule_id] = int(now) + window_s
        return True

    def release_send(self, rule_id: str) -> None:
        self.sent_until.pop(rule_id, None)

    def add_record(self, record: AlertRecord) -> None:
        self.records.setdefault(record.owner_id, []).append(record)

    def history(self, owner_id: str, limit: int, after: str | None) -> tuple[list[AlertRecord], str | None]:
        ordered = sorted(self.records.get(owner_id, []), key=lambda r: r.sort_key, reverse=True)
        if after:
            ordered = [r for r in ordered if r.sort_key < after]
        page = ordered[:limit]
        return page, (page[-1].sort_key if len(ordered) > limit else None)


class FakeSnsClient:
    """Records ``publish`` calls like boto3's SNS client; ``fail`` makes the next publish raise."""

    def __init__(self) -> None:
        self.published: list[dict[str, str]] = []
        self.fail = False

    def publish(self, **kwargs: str) -> dict[str, str]:
        if self.fail:
            self.fail = False
            raise ConnectionError("SNS is unreachable")
        self.published.append(kwargs)
        return {"MessageId": str(len(self.published))}


class InMemoryRoutingOverrideStore:
    """The routing overrides and their audit log in memory, with the DynamoDB store's version condition."""

    def __init__(self) -> None:
        self.overrides = RoutingOverrides()
        self.log: dict[str, RouteChange] = {}
        self.reads = 0
        self.fail_reads = False

    def current(self) -> RoutingOverrides:
        self.reads += 1
        if self.fail_reads:
            raise ConnectionError("DynamoDB is unreachable")
        return self.overrides

    def commit(self, change: RouteChange, routes: dict[str, Route], expected_version: int) -> None:
        if expected_version != self.overrides.version or change.change_id in self.log:
            raise RoutingConflictError("The routing changed meanwhile; reload and try again.")
        self.overrides = RoutingOverrides(dict(routes), expected_version + 1, self.overrides.experiments)
        self.log[change.change_id] = change

    def change(self, change_id: str) -> RouteChange | None:
        return self.log.get(change_id)

    def changes(self, limit: int) -> list[RouteChange]:
        return sorted(self.log.values(), key=lambda c: c.change_id, reverse=True)[:limit]


class InMemoryCreatorAccountStore:
    """The registry in a dict, with the DynamoDB store's version condition and id-ordered pages.

    ``reads`` counts record lookups (the sending check's one GetItem); ``races`` makes that many next
    writes lose to a concurrent change, as a failed condition would.
    """

    def __init__(self) -> None:
        self.accounts: dict[str, CreatorAccount] = {}
        self.reads = 0
        self.races = 0

    def get(self, account_id: str) -> CreatorAccount | None:
        self.reads += 1
        return self.accounts.get(account_id)

    def save(self, account: CreatorAccount, previous: CreatorAccount | None) -> None:
        self._check(account.account_id, previous)
        self.accounts[account.account_id] = account

    def delete(self, account: CreatorAccount) -> None:
        self._check(account.account_id, account)
        del self.accounts[account.account_id]

    def page_all(self, limit: int, after: str | None) -> AccountPage:
        return self._page(sorted(self.accounts), limit, after)

    def page_of_user(self, user_id: str, limit: int, after: str | None) -> AccountPage:
        return self._page(sorted(i for i, a in self.accounts.items() if a.allows(user_id)), limit, after)

    def page_of_tenant(self, tenant: str, limit: int, after: str | None) -> AccountPage:
        return self._page(sorted(i for i, a in self.accounts.items() if a.tenant == tenant), limit, after)

    def _check(self, account_id: str, expected: CreatorAccount | None) -> None:
        current = self.accounts.get(account_id)
        if self.races or (current.version if current else None) != (expected.version if expected else None):
            self.races = max(0, self.races - 1)
            raise CreatorAccountConflictError("The creator account changed meanwhile; try again.")

    def _page(self, ids: list[str], limit: int, after: str | None) -> AccountPage:
        rest = [i for i in ids if after is None or i > after]
        return AccountPage([self.accounts[i] for i in rest[:limit]], rest[limit - 1] if len(rest) > limit else None)


def linked_accounts(links: Mapping[str, Sequence[str]]) -> tuple[CreatorAccountService, InMemoryCreatorAccountStore]:
    """The registry service over the in-memory store, with each account already linked to its users."""
    store = InMemoryCreatorAccountStore()
    for account_id, user_ids in links.items():
        store.accounts[account_id] = CreatorAccount(account_id, tuple(sorted(user_ids)), 0.0, "admin")
    return CreatorAccountService(store, clock=lambda: 1_700_000_000.0), store


class SleepingClock:
    """Monotonic time that only sleeping moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class ScriptedWebhook:
    """A Slack webhook: answers each post with the next scripted status (and headers), or raises it, then 200;
    records every post and its timeout, and moves the clock by ``took_s`` per post."""

    def __init__(
        self, clock: SleepingClock, *script: int | tuple[int, dict[str, str]] | Exception, took_s: float = 0.1
    ):
        self.script = list(script)
        self.clock, self.took_s = clock, took_s
        self.calls: list[tuple[str, bytes, float]] = []

    def post(self, url: str, body: bytes, timeout_s: float) -> tuple[int, dict[str, str]]:
        self.calls.append((url, body, timeout_s))
        self.clock.now += self.took_s
        answer = self.script.pop(0) if self.script else 200
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, tuple) else (answer, {})


class InMemoryVersionBoard:
    """The overrides' version board in memory, raise-only like the Redis script; ``down`` makes it unreachable."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.down = False
        self.reads = 0

    def read(self) -> int | None:
        self.reads += 1
        if self.down:
            raise ConnectionError("Redis is unreachable")
        return self.version

    def offer(self, version: int) -> None:
        if self.down:
            raise ConnectionError("Redis is unreachable")
        if self.version is None or self.version < version:
            self.version = version
