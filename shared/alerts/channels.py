"""The alert e-mail, written for a person: amounts in the subject, the period's spend in plain text, no links."""

from __future__ import annotations

from collections.abc import Mapping

from shared.core.pricing import micros_to_usd
from shared.ledger.store import Counters

SNS_SUBJECT_MAX = 100  # SNS refuses longer subjects


def format_usd(micros: int) -> str:
    """``$51.20``; sub-cent amounts keep their digits (``$0.0032``) rather than reading as ``$0.00``."""
    amount = micros_to_usd(micros)
    text = f"{amount:,.2f}" if micros % 10_000 == 0 else f"{amount:,.6f}".rstrip("0")
    return f"${text}"


def alert_email(
    *,
    product: str,
    threshold_name: str,
    period_label: str,
    threshold_micros: int,
    spent_micros: int,
    by_provider: Mapping[str, Counters],
    by_type: Mapping[str, Counters],
    top_campaigns: list[tuple[str, Counters]],
) -> tuple[str, str]:
    """(subject, body) of the one alert sent when a threshold is crossed."""
    spent, limit = format_usd(spent_micros), format_usd(threshold_micros)
    subject = f"{product}: {threshold_name} AI spend {spent} crossed {limit}"[:SNS_SUBJECT_MAX]
    percent = f"{100 * spent_micros / threshold_micros:.1f}%"
    lines = [
        f"AI provider spend for {period_label} (UTC) has reached {spent}, crossing the {threshold_name} "
        f"threshold of {limit} ({percent} of it).",
        "",
        "Spend by provider:",
        *_table(sorted(by_provider.items(), key=_by_spend)),
        "",
        "Spend by campaign type:",
        *_table(sorted(by_type.items(), key=_by_spend)),
        "",
        f"Top {len(top_campaigns)} campaigns (workflow ids):" if top_campaigns else "Top campaigns: none recorded.",
        *_table(top_campaigns),
        "",
        f"This is the only {threshold_name} alert for {period_label}: later spend in the same period sends "
        "no further e-mail. Figures are exact to the micro-dollar, from the usage the providers reported.",
    ]
    return subject, "\n".join(lines) + "\n"


def _by_spend(entry: tuple[str, Counters]) -> tuple[int, str]:
    return -entry[1].micros, entry[0]


def _table(rows: list[tuple[str, Counters]]) -> list[str]:
    width = max((len(name) for name, _ in rows), default=0)
    return [
        f"  {name.ljust(width)}  {format_usd(c.micros):>14}  {c.requests:>8,} call{'' if c.requests == 1 else 's'}"
        f"  {c.tokens_total:>12,} tokens"
        for name, c in rows
    ] or ["  (none)"]
