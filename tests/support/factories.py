"""Factories of cost events at fixed instants, for the ledger, alerts, budget and forecast tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.ledger.events import CostEvent

NOON = datetime(2026, 3, 14, 12, tzinfo=UTC).timestamp()


DAY = date(2026, 3, 14)


def event(n: int = 1, micros: int = 450, user: str = "u1", at: float = NOON, **changes) -> CostEvent:
    fields = {
        "request_id": f"wf_{n}#generate#0",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "deployment": "gpt-4o-mini",
        "campaign_type": "caption",
        "campaign_id": f"wf_{n}",
        "user_id": user,
        "tenant": None,
        "input_tokens": 1000,
        "output_tokens": 500,
        "micros": micros,
        "at": at,
    }
    return CostEvent(**{**fields, **changes})
