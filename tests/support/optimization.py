"""The routes, prices and days the optimizer's tests share."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.routing.candidates import DEFAULT_ROUTING_TABLE, RouteCandidate

TODAY = date(2026, 3, 14)
NOW = datetime(2026, 3, 14, 12, tzinfo=UTC).timestamp()
DAY_S = 86_400
OPENAI_4O = RouteCandidate(provider="openai", model="gpt-4o")
OPENAI_MINI = RouteCandidate(provider="openai", model="gpt-4o-mini")
AZURE_MINI = RouteCandidate(provider="azure", model="chat-gpt-4o-mini")
CAPTION_ON_4O = [OPENAI_4O, AZURE_MINI]
CONFIGURED = {**DEFAULT_ROUTING_TABLE, "caption": CAPTION_ON_4O}
