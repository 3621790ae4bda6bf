"""What a fan campaign's generations come to: each fan's result, its message text, the budget's note, the error.

One fan's generation ends in a routed completion or in the error that stopped it (a budget refusal,
every provider failing, a provider refusing the request). From those the service writes the fans'
states, the workflow's one aggregated step and, when no fan got a message, the answer a single routed
call would have given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.core.errors import (
    BudgetError,
    BudgetExceededError,
    ProviderRejectedCampaignError,
    ProvidersUnavailableError,
)
from shared.routing.router import ProviderRequestRejectedError
from shared.routing.types import RoutedCompletion, RoutingOutcome
from shared.sending.message_states import REASON_MAX_CHARS


@dataclass(frozen=True)
class Generated:
    """One fan's generation: the routed completion, or the error that ended it (a budget block among them)."""

    recipient_id: str
    routed: RoutedCompletion | None
    error: Exception | None = None
    downgraded: bool = False

    @property
    def outcome(self) -> RoutingOutcome:
        """How the generation was served (or not)."""
        if self.routed is not None:
            return self.routed.outcome
        return getattr(self.error, "outcome", None) or RoutingOutcome()


def message_text(result: Generated) -> str:
    assert result.routed is not None
    return result.routed.completion.content.strip() or "\u2764\ufe0f"


def not_generated_reason(error: Exception | None) -> str:
    return f"not generated: {type(error).__name__}: {error}"[:REASON_MAX_CHARS]


def refused_by_budget(results: Sequence[Generated]) -> BudgetError | None:
    """The budget's refusal (402, or 503 when it could not be checked) when it refused every fan."""
    refusals = [r.error for r in results if isinstance(r.error, BudgetError)]
    return refusals[0] if results and len(refusals) == len(results) else None


def budget_note(results: Sequence[Generated]) -> str | None:
    """What the monthly budget did to the messages: downgraded ones, and ones never generated."""
    blocked = sum(isinstance(r.error, BudgetExceededError) for r in results)
    downgraded = sum(r.downgraded for r in results)
    notes = []
    if downgraded:
        notes.append(f"{downgraded} of {len(results)} messages ran on the cheaper route to fit the monthly budget")
    if blocked:
        notes.append(f"{blocked} of {len(results)} messages not generated: they could pass the monthly budget")
    return "; ".join(notes) or None


def no_message_error(results: Sequence[Generated], workflow_id: str) -> Exception:
    """No fan got a message: the same answer a single routed call would give (503, 400 when refused, the
    budget's answer when it refused them all)."""
    refusal = refused_by_budget(results)
    if refusal is not None:
        return refusal  # names the workflow (CampaignService.admit set it)
    outcome = results[0].outcome if results else RoutingOutcome()
    if any(isinstance(r.error, ProviderRequestRejectedError) for r in results):
        return ProviderRejectedCampaignError(
            "The provider rejected the request as invalid.", outcome, workflow_id=workflow_id
        )
    return ProvidersUnavailableError(
        "No provider could generate the fans' messages; try again later.", outcome, workflow_id=workflow_id
    )
