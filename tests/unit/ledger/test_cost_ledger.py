"""The ledger over the in-memory store: idempotency, exact sums, key layout, constant reads."""

from __future__ import annotations

import random
from collections import Counter as Tally
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.campaigns.billing import billed_events
from shared.campaigns.models import Workflow
from shared.core.pricing import PriceTable
from shared.core.time import utc_day
from shared.ledger.keys import EVERYONE, Scope, split_sort_key
from shared.ledger.ledger import CostLedger
from shared.ledger.store import Counters
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS
from shared.routing.deadline import Deadline
from shared.routing.types import Attempt, RoutingOutcome
from tests.support.campaigns import CALLER, NOW, REQUEST, service
from tests.support.factories import DAY, NOON, event
from tests.support.fakes import InMemoryCostStore, completion

PRICES = PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)


def test_sort_keys_split_on_the_first_two_separators_only():
    assert split_sort_key("DAY#2026-03-14#u#1") == ("DAY#2026-03-14", "u#1")


def test_recording_is_one_conditional_put_and_nothing_else():
    store = InMemoryCostStore(fold_before_reads=False)
    assert CostLedger(store).record(event(user="u#1"))
    assert store.requests == {"PutItem": 1} and list(store.items) == [("EVENT#wf_1#generate#0", "EVENT")]
    assert len(store.stream) == 1  # the aggregator's input


def test_the_same_request_id_counts_once():
    ledger = CostLedger(InMemoryCostStore())
    assert ledger.record(event(micros=700)) is True
    assert ledger.record(event(micros=700)) is False
    assert ledger.record(event(micros=999)) is False  # same id, whatever it carries
    stats = ledger.stats(EVERYONE, DAY)
    assert (stats.day_total.micros, stats.day_total.requests) == (700, 1)


def test_ten_thousand_small_calls_sum_exactly_in_every_view():
    """Micro-dollar integers end to end: no float is ever added, so nothing drifts."""
    rng = random.Random(7)
    store = InMemoryCostStore()
    ledger = CostLedger(store)
    expected: dict[str, Tally] = {g: Tally() for g in ("provider", "model", "type", "campaign", "user", "day")}
    usd_as_floats = 0.0
    for n in range(10_000):
        day = rng.choice([13, 14, 15])
        e = event(
            n,
            micros=rng.randint(1, 37),
            user=f"u{rng.randint(1, 9)}",
            at=datetime(2026, 3, day, rng.randint(0, 23), tzinfo=UTC).timestamp(),
            provider=rng.choice(["openai", "azure"]),
            model=rng.choice(["gpt-4o", "gpt-4o-mini"]),
            campaign_type=rng.choice(["caption", "content_planning"]),
            campaign_id=f"wf_{n % 50}",
        )
        assert ledger.record(e)
        usd_as_floats += e.micros / 1_000_000
        for group, value in (
            ("provider", e.provider),
            ("model", e.model),
            ("type", e.campaign_type),
            ("campaign", e.campaign_id),
            ("user", e.user_id),
            ("day", e.day.isoformat()),
        ):
            expected[group][value] += e.micros
    total = sum(expected["day"].values())
    for group, tally in expected.items():
        groups = ledger.breakdown(EVERYONE, group, date(2026, 3, 13), date(2026, 3, 15))
        assert {k: c.micros for k, c in groups.items()} == dict(tally), group
        assert sum(c.requests for c in groups.values()) == 10_000
    month = ledger.stats(EVERYONE, date(2026, 3, 15)).month_total  # month to date: the 13th to the 15th
    assert (month.micros, month.requests) == (total, 10_000)
    assert Decimal(month.micros) / 1_000_000 == sum(Decimal(m) for m in expected["day"].values()) / 1_000_000
    assert round(usd_as_floats * 1_000_000) == total  # floats only agree after rounding; the ledger never needs to


def test_reads_are_a_constant_number_of_queries_whatever_the_volume():
    store = InMemoryCostStore()
    ledger = CostLedger(store)
    counts = []
    for batch in (10, 1_000):
        for n in range(batch):
            ledger.record(event(len(store.items) + n, campaign_id="wf_same"))
        store.drain()
        store.requests.clear()
        ledger.stats(EVERYONE, DAY)
        stats_reads = dict(store.requests)
        store.requests.clear()
        ledger.breakdown(EVERYONE, "provider", date(2026, 3, 8), DAY)
        counts.append((stats_reads, dict(store.requests)))
    assert counts[0] == counts[1] == ({"Query": 1}, {"Query": 1})


def test_breakdown_range_is_inclusive_and_day_lists_every_day():
    ledger = CostLedger(InMemoryCostStore())
    for n, day in enumerate((12, 13, 15, 16)):
        ledger.record(event(n, micros=10 * day, at=datetime(2026, 3, day, 23, 59, tzinfo=UTC).timestamp()))
    by_day = ledger.breakdown(EVERYONE, "day", date(2026, 3, 13), date(2026, 3, 15))
    assert {k: c.micros for k, c in by_day.items()} == {"2026-03-13": 130, "2026-03-14": 0, "2026-03-15": 150}


def test_a_users_scope_holds_only_their_calls_and_groups_by_user_as_themselves():
    ledger = CostLedger(InMemoryCostStore())
    ledger.record(event(1, micros=100, user="alice"))
    ledger.record(event(2, micros=900, user="bob"))
    alice = Scope("alice")
    assert ledger.stats(alice, DAY).day_total.micros == 100
    assert {k: c.micros for k, c in ledger.breakdown(alice, "campaign", DAY, DAY).items()} == {"wf_1": 100}
    assert {k: c.micros for k, c in ledger.breakdown(alice, "user", DAY, DAY).items()} == {"alice": 100}
    assert {k: c.micros for k, c in ledger.breakdown(EVERYONE, "user", DAY, DAY).items()} == {"alice": 100, "bob": 900}


def test_a_month_rolls_over_at_midnight_utc():
    ledger = CostLedger(InMemoryCostStore())
    ledger.record(event(1, micros=5, at=datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC).timestamp()))
    ledger.record(event(2, micros=7, at=datetime(2026, 4, 1, tzinfo=UTC).timestamp()))
    assert ledger.stats(EVERYONE, date(2026, 4, 1)).month_total.micros == 7
    assert ledger.stats(EVERYONE, date(2026, 3, 31)).month_total.micros == 5


def _workflow() -> Workflow:
    return Workflow(
        workflow_id="wf_1",
        owner_id="u1",
        type="caption",
        platforms=["instagram"],
        mode="sync",
        status="running",
        created_at="x",
        updated_at="x",
        expires_at=0,
    )


def test_billed_events_keep_every_priced_attempt_whatever_its_status():
    filtered = PRICES.cost("azure", "chat-gpt-4o-mini", 80, 3)  # a completion filtered on output: billed
    served = PRICES.cost("openai", "gpt-4o-mini", 100, 50, cached_tokens=0)
    outcome = RoutingOutcome(
        attempts=[
            Attempt("azure", "chat-gpt-4o-mini", "server_error", 5.0, 500),
            Attempt("azure", "chat-gpt-4o-mini", "content_filter", 5.0, 200, 0.0, 80, 3, cost=filtered),
            Attempt("openai", "gpt-4o-mini", "ok", 5.0, 200, 0.0, 100, 50, cost=served),
        ]
    )
    events = billed_events(outcome, workflow=_workflow(), step="generate", at=NOON)
    assert [(e.request_id, e.status, e.model, e.deployment, e.fallback) for e in events] == [
        ("wf_1#generate#1", "content_filter", "gpt-4o-mini", "chat-gpt-4o-mini", False),  # the first choice
        ("wf_1#generate#2", "ok", "gpt-4o-mini", "gpt-4o-mini", True),
    ]
    # 80 x 165 + 3 x 660 = 15,180 n$; 100 x 150 + 50 x 600 = 45,000 n$ (prices.json x 1,000 per token)
    assert [(e.nanos, e.micros) for e in events] == [(15_180, 15), (45_000, 45)]


@pytest.mark.parametrize("fallback", [False, True])
def test_a_campaigns_reported_cost_is_exactly_what_the_ledger_holds(fallback):
    from shared.routing.errors import ProviderServerError

    openai = [ProviderServerError("down", 500)] if fallback else [completion(input_tokens=1234, output_tokens=567)]
    ledger = CostLedger(InMemoryCostStore())
    svc, _ = service(openai=openai, azure=[completion(input_tokens=2000, output_tokens=333)], costs=ledger)
    run = svc.run(REQUEST, CALLER, Deadline(20))
    svc.record_costs(run.workflow, "generate", run.outcome)  # a retried invocation of the same step
    stats = ledger.stats(EVERYONE, utc_day(NOW))
    assert (stats.day_total.micros, stats.day_total.requests) == (run.cost.micros, 1)
    assert stats.day_total.tokens_total == run.cost.total_tokens
    assert list(stats.day_by_provider) == ["azure" if fallback else "openai"]
    assert stats.day_total.fallbacks == int(fallback)
    campaign_split = ledger.breakdown(EVERYONE, "campaign", utc_day(NOW), utc_day(NOW))
    assert campaign_split == {run.workflow.workflow_id: stats.day_total}


def test_a_thousand_calls_of_ten_and_twenty_tokens_count_exactly_13_5_micro_dollars_each():
    ledger = CostLedger(InMemoryCostStore())
    cost = PRICES.cost("openai", "gpt-4o-mini", 10, 20, cached_tokens=0)
    for n in range(1_000):
        assert ledger.record(event(n, micros=cost.micros, nanos=cost.nanos, input_tokens=10, output_tokens=20))
    stats = ledger.stats(EVERYONE, utc_day(NOON))
    assert (stats.day_total.nanos, stats.day_total.micros, stats.month_total.micros) == (13_500_000, 13_500, 13_500)
    assert ledger.breakdown(EVERYONE, "model", utc_day(NOON), utc_day(NOON))["gpt-4o-mini"].micros == 13_500


def test_cached_tokens_are_their_own_counter_and_old_micro_dollar_counters_still_count():
    ledger = CostLedger(InMemoryCostStore())
    ledger.record(event(1, micros=0, nanos=225_600, input_tokens=2_000, output_tokens=100, cached_tokens=1_792))
    day = ledger.stats(EVERYONE, utc_day(NOON)).day_total
    assert (day.cached_tokens, day.tokens_in, day.nanos) == (1_792, 2_000, 225_600)
    legacy = Counters.from_item({"micros": 7, "nanos": 1_500, "tokensIn": 3})  # written before nanos, then after
    assert (legacy.nanos, legacy.micros, legacy.cached_tokens) == (8_500, 9, 0)
    assert event(2, micros=45).nanos == 45_000  # an event priced in micro-dollars only
