"""The seed history, built without any service: reproducible, priced by the price table, and shaped as documented."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from statistics import mean

from local.seed import DEGRADED_PLANNING_DAYS, SPIKE_DAYS_BEFORE_END, USERS, expected_spend, history
from shared.core.pricing import PriceTable
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE

TODAY = date(2026, 3, 14)
PRICES = PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)


def build(**options):
    return history(PRICES, DEFAULT_ROUTING_TABLE, TODAY, **options)


def test_same_seed_same_day_gives_the_same_events_and_another_seed_others():
    assert build() == build()
    assert build(seed=7) != build()


def test_covers_the_sixty_complete_days_before_today():
    days = {event.day for event in build()}

    assert min(days) == TODAY - timedelta(days=60)
    assert max(days) == TODAY - timedelta(days=1)
    assert len(days) == 60


def test_request_ids_are_unique_and_derived_from_the_seed():
    ids = [event.request_id for event in build()]

    assert len(ids) == len(set(ids))
    assert all(i.startswith("wf_seed42_") for i in ids)


def test_every_call_is_priced_by_the_price_table_on_its_route():
    for event in build(scale=0.2):
        cost = PRICES.cost(
            event.provider, event.deployment, event.input_tokens, event.output_tokens, event.cached_tokens
        )
        route = DEFAULT_ROUTING_TABLE[event.campaign_type]
        served = route[1] if event.fallback else route[0]
        assert (event.provider, event.deployment) == (served.provider, served.model)
        assert (event.nanos, event.micros, event.model) == (cost.nanos, cost.micros, cost.priced_model)


def test_several_users_every_type_both_providers_and_about_five_percent_fallbacks():
    events = build()

    assert {e.user_id for e in events} == set(USERS)
    assert {e.campaign_type for e in events} == {"content_planning", "caption", "message_generation", "fan_messages"}
    assert {e.provider for e in events} == {"azure", "openai"}
    assert 0.03 <= sum(e.fallback for e in events) / len(events) <= 0.08


def test_weekends_are_quieter_and_one_day_spikes():
    events = build()
    per_day = Counter(e.day for e in events)
    weekdays = [n for day, n in per_day.items() if day.weekday() < 5]
    weekends = [n for day, n in per_day.items() if day.weekday() >= 5]
    spike_day = TODAY - timedelta(days=SPIKE_DAYS_BEFORE_END)

    assert mean(weekends) < 0.7 * mean(weekdays)
    assert max(per_day, key=per_day.__getitem__) == spike_day
    assert per_day[spike_day] > 2 * mean(weekdays)


def test_planning_falls_back_often_enough_lately_for_a_recommendation_even_at_a_small_scale():
    """The optimizer proposes a swap above a 10 % fallback share with at least 20 calls in 30 days."""
    recent = [
        e for e in build(scale=0.1) if e.campaign_type == "content_planning" and e.day >= TODAY - timedelta(days=30)
    ]

    assert len(recent) >= 20
    assert sum(e.fallback for e in recent) / len(recent) > 0.10
    assert DEGRADED_PLANNING_DAYS <= 30


def test_expected_spend_is_the_exact_sum_per_user():
    events = build(scale=0.2)

    assert sum(expected_spend(events).values()) == sum(e.nanos for e in events)
