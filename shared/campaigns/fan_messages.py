"""fan_messages campaigns: one personalised message per fan through the router, every one put on the queue.

Generation runs a bounded number of provider calls at once (``FAN_GENERATION_CONCURRENCY``), each
under the request's deadline, so a synchronous run of up to ``FAN_SYNC_MAX_RECIPIENTS`` fans fits
API Gateway's 29 s; bigger lists (up to 1000) run from the workflows queue (``"mode": "async"``),
where the deadline is the runner Lambda's own. Nothing here sends: every message goes on the
rate-limited queue with its idempotency key, and the drainer alone checks the limit and sends.
Before any of it, the caller must be linked to the account they send as (:meth:`authorize`):
a refused request stores no workflow, calls no provider and queues nothing.

Workflow writes: the whole item is written once, before the first message is queued; after that
only atomic count updates touch it, because drainers update the same item concurrently.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from shared.campaigns.fan_results import (
    Generated,
    budget_note,
    message_text,
    no_message_error,
    not_generated_reason,
    refused_by_budget,
)
from shared.campaigns.models import CampaignData, CampaignRequest, TokenUsage, Workflow, WorkflowError, WorkflowStep
from shared.campaigns.prompts import fan_prompt
from shared.campaigns.service import CampaignRouter, CampaignService
from shared.campaigns.workflows import WorkflowRepository
from shared.core.errors import (
    BudgetError,
    CampaignInputError,
)
from shared.core.identity import Caller
from shared.core.pricing import CallCost, added_up
from shared.core.queues import Queue
from shared.core.time import iso_timestamp
from shared.creator_accounts import CreatorAccountService
from shared.experiments.assignment import RouteChoice
from shared.routing.candidates import RouteCandidate
from shared.routing.deadline import Deadline
from shared.routing.paths import RequestPath, route_key
from shared.routing.router import AllProvidersFailedError, ProviderRequestRejectedError
from shared.routing.telemetry import record_routing, record_served_call
from shared.routing.types import RoutingOutcome
from shared.sending.message_states import MessageStates
from shared.sending.messages import FanMessageStatus, MessageCounts, OutboundMessage, WorkflowCounters


class FanWorkflowStore(WorkflowRepository, WorkflowCounters):
    """Whole-item writes before queueing, atomic counts after."""


@dataclass(frozen=True)
class FanCampaignRun:
    """A fan campaign after its messages were queued: the workflow, the counts and what generation cost."""

    workflow: Workflow
    counts: MessageCounts
    cost: CallCost
    outcome: RoutingOutcome
    fallback_used: bool
    duration_ms: float
    providers: dict[str, int] = field(default_factory=dict)

    @property
    def overhead_ms(self) -> float:
        """The router's own time over every call (calls overlap, so wall time minus provider time says nothing)."""
        return self.outcome.overhead_ms


class FanCampaignService:
    """Generates, stores and queues fan messages; sync requests up to ``sync_max_recipients`` fans."""

    def __init__(
        self,
        campaigns: CampaignService,
        router: CampaignRouter,
        workflows: FanWorkflowStore,
        queue: Queue,
        *,
        accounts: CreatorAccountService,
        messages: MessageStates,
        max_output_tokens: int,
        concurrency: int,
        sync_max_recipients: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._campaigns = campaigns
        self._router = router
        self._workflows = workflows
        self._queue = queue
        self._accounts = accounts
        self._messages = messages
        self._max_output_tokens = max_output_tokens
        self._concurrency = concurrency
        self._sync_max = sync_max_recipients
        self._clock = clock

    def run(
        self, request: CampaignRequest, caller: Caller, deadline: Deadline, path: RequestPath = "hybrid"
    ) -> FanCampaignRun:
        """A synchronous fan campaign; too many fans for one request is a 422 pointing at async mode."""
        recipients = request.data.recipients or []
        if len(recipients) > self._sync_max:
            raise CampaignInputError(
                "Too many recipients for a synchronous run.",
                details=[
                    {
                        "field": "data.recipients",
                        "message": f'{len(recipients)} fans: at most {self._sync_max} with "mode": "sync"; '
                        'use "mode": "async" for up to 1000',
                        "type": "too_long",
                    }
                ],
            )
        self.authorize(request, caller)
        started = time.perf_counter()
        return self.execute(self._campaigns.start(request, caller, path=path), request, deadline, started)

    def authorize(self, request: CampaignRequest, caller: Caller) -> None:
        """403 ``ACCOUNT_NOT_ALLOWED`` unless the caller is linked to ``data.accountId`` (one GetItem)."""
        assert request.data.account_id is not None  # CampaignRequest guarantees it for fan_messages
        self._accounts.require_sender(request.data.account_id, caller)

    def execute(
        self, workflow: Workflow, request: CampaignRequest, deadline: Deadline, started: float | None = None
    ) -> FanCampaignRun:
        """Generate every fan's message, store the workflow, queue the messages, count them."""
        started = time.perf_counter() if started is None else started
        data = request.data
        assert data.account_id is not None and data.recipients is not None  # CampaignRequest guarantees both
        route = route_key(workflow.path, request.type)
        # One read of the route (and its overrides and experiments) for the whole request, however many fans.
        choice = self._campaigns.choose_route(route, workflow.owner_id)
        results = self._generate_all(workflow, data, deadline, route, choice.candidates)
        for result in results:  # every billed call in the cost ledger, one step per fan
            tags = choice if not result.downgraded else None  # a downgraded message is in no experiment
            self._campaigns.record_costs(workflow, f"generate:{result.recipient_id}", result.outcome, tags)
        generated = [r for r in results if r.routed is not None]
        cost, outcome, providers = self._account(results)
        workflow = self._store(workflow, results, cost, outcome, providers, choice)
        if not generated:
            raise no_message_error(results, workflow.workflow_id)
        messages = [
            OutboundMessage.for_recipient(
                workflow.workflow_id, data.account_id, r.recipient_id, message_text(r), workflow.owner_id
            )
            for r in generated
        ]
        self._record_states(workflow, results)
        counts = self._enqueue(workflow.workflow_id, messages, failed_generation=len(results) - len(generated))
        duration_ms = (time.perf_counter() - started) * 1000
        fallback_used = any(r.routed.fallback_used for r in generated if r.routed)
        return FanCampaignRun(workflow, counts, cost, outcome, fallback_used, duration_ms, providers)

    def _generate_all(
        self,
        workflow: Workflow,
        data: CampaignData,
        deadline: Deadline,
        route: str,
        candidates: Sequence[RouteCandidate],
    ) -> list[Generated]:
        recipients = data.recipients or []
        workers = max(1, min(self._concurrency, len(recipients)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fan-gen") as pool:
            return list(
                pool.map(lambda fan: self._generate(workflow, data, fan, deadline, route, candidates), recipients)
            )

    def _generate(
        self,
        workflow: Workflow,
        data: CampaignData,
        recipient_id: str,
        deadline: Deadline,
        route: str,
        candidates: Sequence[RouteCandidate],
    ) -> Generated:
        """One fan's message under its own budget reservation (a capped owner's messages stop where it ends)."""
        step, messages = f"generate:{recipient_id}", fan_prompt(data, recipient_id)
        try:
            admission = self._campaigns.admit(workflow, step, route, messages, self._max_output_tokens, candidates)
        except BudgetError as exc:
            return Generated(recipient_id, None, exc)
        try:
            routed = self._router.complete(
                admission.route, messages, deadline, self._max_output_tokens, admission.candidates
            )
        except (AllProvidersFailedError, ProviderRequestRejectedError) as exc:
            self._campaigns.settle(admission, workflow, step, exc.outcome)
            return Generated(recipient_id, None, exc)
        self._campaigns.settle(admission, workflow, step, routed.outcome)
        return Generated(recipient_id, routed, downgraded=admission.note is not None)

    def _account(self, results: Sequence[Generated]) -> tuple[CallCost, RoutingOutcome, dict[str, int]]:
        """Total cost and one merged outcome; telemetry is recorded here, on the request's thread."""
        merged = RoutingOutcome()
        served: Counter[str] = Counter()
        for result in results:
            outcome = result.outcome
            record_routing(outcome)
            merged.attempts += outcome.attempts
            merged.fallback_reasons += outcome.fallback_reasons
            merged.breaker_states.update(outcome.breaker_states)
            merged.provider_ms += outcome.provider_ms
            merged.waited_ms += outcome.waited_ms
            merged.total_ms += outcome.total_ms
            routed = result.routed
            if routed is None:
                continue
            answer = outcome.attempts[-1]
            if answer.cost is not None:
                record_served_call(routed.provider, routed.priced_model, answer.latency_ms, answer.cost)
            served[f"{routed.provider}:{routed.model}:{routed.priced_model}"] += 1
        priced = served.most_common(1)[0][0].rsplit(":", 1)[1] if served else ""
        # Every billed attempt, the completions filtered on output included, priced once by the router.
        return added_up(merged.billed_costs, priced), merged, dict(served)

    def _store(
        self,
        workflow: Workflow,
        results: Sequence[Generated],
        cost: CallCost,
        outcome: RoutingOutcome,
        providers: dict[str, int],
        choice: RouteChoice,
    ) -> Workflow:
        """One aggregated step (1000 per-fan steps, each with its attempts, would not fit a DynamoDB item);
        ``providers`` in the run says how many messages each (provider, model) wrote."""
        failures = Counter(type(r.error).__name__ for r in results if r.error is not None)
        main = max(providers, key=lambda key: providers[key]) if providers else None
        provider, deployment, model = main.split(":", 2) if main else (None, None, None)
        step = WorkflowStep(
            name="generate_messages",
            status="completed" if providers else "failed",
            provider=provider,
            model=model,
            deployment=deployment,
            fallback_reasons=sorted(set(outcome.fallback_reasons)),
            tokens=TokenUsage.of(cost),
            cost_micros=cost.micros,
            cost_nanos=cost.nanos,
            latency_ms=round(outcome.provider_ms + outcome.waited_ms),
            budget_note=budget_note(results),
            experiment=choice.experiment,
            variant=choice.variant,
        )
        changes: dict[str, object] = {
            "status": "running",
            "steps": [step],
            "provider": provider,
            "model": model,
            "deployment": deployment,
        }
        changes["recipient_ids"] = [r.recipient_id for r in results]
        if not providers:
            reasons = ", ".join(f"{name} x{count}" for name, count in failures.items())
            refusal = refused_by_budget(results)
            code = refusal.code if refusal is not None else "GENERATION_FAILED"
            changes.update(status="failed", error=WorkflowError(code=code, message=reasons))
        changes["counts"] = MessageCounts(failed=0 if providers else len(results))
        updated = workflow.model_copy(update={**changes, "updated_at": iso_timestamp(self._clock())})
        self._workflows.save(updated)
        return updated

    def _record_states(self, workflow: Workflow, results: Sequence[Generated]) -> None:
        """Every fan's message before the first is queued (a drainer may mark it sent at once): queued with
        its text, or failed with why it was not generated."""
        now = iso_timestamp(self._clock())
        states = [
            FanMessageStatus(recipient_id=r.recipient_id, state="queued", text=message_text(r), updated_at=now)
            if r.routed is not None
            else FanMessageStatus(
                recipient_id=r.recipient_id, state="failed", reason=not_generated_reason(r.error), updated_at=now
            )
            for r in results
        ]
        self._messages.record(workflow.workflow_id, states, workflow.expires_at)

    def _enqueue(self, workflow_id: str, messages: Sequence[OutboundMessage], failed_generation: int) -> MessageCounts:
        """Count the messages queued first (a drainer may send one before this returns), then queue them."""
        now = iso_timestamp(self._clock())
        self._workflows.add_counts(workflow_id, now, queued=len(messages), failed=failed_generation)
        try:
            rejected = self._queue.send_batch([message.to_body() for message in messages])
        except Exception:
            rejected = list(range(len(messages)))  # an SQS outage: nothing will be sent, say so
        if rejected:
            self._workflows.add_counts(workflow_id, now, queued=-len(rejected), failed=len(rejected))
            for index in rejected:
                self._messages.mark(workflow_id, messages[index].recipient_id, "failed", now, "could not be queued")
        return MessageCounts(sent=0, queued=len(messages) - len(rejected), failed=failed_generation + len(rejected))
