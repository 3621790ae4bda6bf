"""The one Block Kit message a Slack rule posts when its threshold is crossed.

What crossed (whose spend, which period, how much against the threshold), the period's spend by provider,
its top campaigns (workflow ids), and a button to the dashboard when the deployment knows its public URL
(``PUBLIC_BASE_URL``). ``text`` repeats the headline: Slack shows it in notifications and wherever blocks
cannot be drawn. Amounts are exact to the micro-dollar (:func:`~shared.core.pricing.format_usd`).

Block Kit's limits are kept by construction: a header of at most 150 characters, sections of at most
3,000, at most :data:`MAX_ROWS` rows a list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.core.pricing import format_usd
from shared.ledger.store import Counters

HEADER_MAX = 150
SECTION_MAX = 3000
MAX_ROWS = 10
DASHBOARD_PATH = "/dashboard"


def slack_alert_message(
    *,
    headline: str,
    detail: str,
    spent_micros: int,
    threshold_micros: int,
    by_provider: Mapping[str, Counters],
    top_campaigns: Sequence[tuple[str, Counters]],
    public_base_url: str = "",
) -> dict[str, Any]:
    """``{"text", "blocks"}``: ``headline`` (the e-mail's subject) and ``detail`` (whose spend, which period)."""
    percent = f"{100 * spent_micros / threshold_micros:.1f}%"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(headline, HEADER_MAX), "emoji": False}},
        _section(f"{detail}\n*Spent* {format_usd(spent_micros)} of {format_usd(threshold_micros)} ({percent})"),
        _section("*Spend by provider*\n" + _rows(sorted(by_provider.items(), key=_by_spend))),
        _section(
            f"*Top {len(top_campaigns)} campaigns*\n" + _rows(top_campaigns)
            if top_campaigns
            else "*Top campaigns*\nnone recorded"
        ),
    ]
    if public_base_url:
        url = public_base_url.rstrip("/") + DASHBOARD_PATH
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open the dashboard"}, "url": url}
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "One message per crossing; this rule posts at most once per rate-limit window.",
                }
            ],
        }
    )
    return {"text": headline, "blocks": blocks}


def top_by_spend(groups: Mapping[str, Counters], limit: int) -> list[tuple[str, Counters]]:
    """The ``limit`` biggest groups, biggest first (ties by name)."""
    return sorted(groups.items(), key=_by_spend)[:limit]


def _by_spend(entry: tuple[str, Counters]) -> tuple[int, str]:
    return -entry[1].nanos, entry[0]


def _rows(rows: Sequence[tuple[str, Counters]]) -> str:
    lines = [
        f"• `{name}` {format_usd(c.micros)} · {c.requests:,} call{'' if c.requests == 1 else 's'} · "
        f"{c.tokens_total:,} tokens"
        for name, c in rows[:MAX_ROWS]
    ]
    return "\n".join(lines) or "none recorded"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_MAX)}}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
