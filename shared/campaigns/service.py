"""Running a campaign: a workflow record, the routed provider call, its price, and the outcome stored."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.budgets.guard import Admission, Budget, Unbudgeted
from shared.campaigns.billing import billed_events
from shared.campaigns.models import (
    AttemptRecord,
    CampaignRequest,
    TokenUsage,
    Workflow,
    WorkflowError,
    WorkflowStatus,
    WorkflowStep,
)
from shared.campaigns.prompts import build_messages
from shared.campaigns.workflows import WorkflowRepository
from shared.core.errors import BudgetError, ProviderRejectedCampaignError, ProvidersUnavailableError
from shared.core.identity import Caller
from shared.core.pricing import CallCost, added_up
from shared.core.time import SECONDS_PER_DAY, iso_timestamp
from shared.experiments.assignment import RouteChoice, RouteChooser
from shared.ledger.events import CostRecorder
from shared.routing.candidates import RouteCandidate
from shared.routing.deadline import Deadline
from shared.routing.paths import RequestPath, route_key
from shared.routing.router import AllProvidersFailedError, ProviderRequestRejectedError
from shared.routing.telemetry import record_routing, record_served_call
from shared.routing.types import ChatMessage, RoutedCompletion, RoutingOutcome


class CampaignRouter(Protocol):
    """The part of the provider router a campaign needs."""

    def candidates(
        self, campaign_type: str, overrides: Mapping[str, Sequence[RouteCandidate]] | None = None
    ) -> Sequence[RouteCandidate]: ...

    def complete(
        self,
        campaign_type: str,
        messages: Sequence[ChatMessage],
        deadline: Deadline,
        max_tokens: int,
        candidates: Sequence[RouteCandidate] | None = None,
    ) -> RoutedCompletion: ...


@dataclass(frozen=True)
class CampaignRun:
    """A finished campaign: the stored workflow plus how it was served."""

    workflow: Workflow
    outcome: RoutingOutcome
    cost: CallCost
    fallback_used: bool
    duration_ms: float

    @property
    def overhead_ms(self) -> float:
        """Our own time in the request: everything but provider calls and deliberate waits."""
        return max(self.duration_ms - self.outcome.provider_ms - self.outcome.waited_ms, 0.0)


def new_workflow_id() -> str:
    """An unguessable workflow id."""
    return f"wf_{uuid.uuid4().hex}"


class CampaignService:
    """Runs synchronous campaigns through the router and keeps their workflow up to date."""

    def __init__(
        self,
        router: CampaignRouter,
        workflows: WorkflowRepository,
        max_output_tokens: int,
        ttl_days: int,
        *,
        costs: CostRecorder,
        budget: Budget | None = None,
        routes: RouteChooser | None = None,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = new_workflow_id,
    ) -> None:
        self._router = router
        self._workflows = workflows
        self._max_output_tokens = max_output_tokens
        self._ttl_s = ttl_days * SECONDS_PER_DAY
        self._costs = costs
        self._budget = budget or Unbudgeted()
        self._routes = routes
        self._clock = clock
        self._new_id = new_id

    def run(
        self, request: CampaignRequest, caller: Caller, deadline: Deadline, path: RequestPath = "hybrid"
    ) -> CampaignRun:
        """Run the campaign now; the workflow is stored as running first, so a crash leaves a trace."""
        started = time.perf_counter()
        return self.execute(self.start(request, caller, path=path), request, deadline, started)

    def execute(
        self, workflow: Workflow, request: CampaignRequest, deadline: Deadline, started: float | None = None
    ) -> CampaignRun:
        """Generate the content of a stored workflow (a sync request's, or one the workflows queue runs)."""
        started = time.perf_counter() if started is None else started
        messages = build_messages(request.type, request.platforms, request.data)
        route = route_key(workflow.path, request.type)
        choice = self.choose_route(route, workflow.owner_id)  # the request's one read of the route (and overrides)
        try:
            admission = self.admit(workflow, "generate", route, messages, self._max_output_tokens, choice.candidates)
        except BudgetError as exc:
            self._update(workflow, status="failed", error=WorkflowError(code=exc.code, message=exc.message))
            raise
        choice = served_choice(choice, admission.route, route)
        try:
            routed = self._router.complete(
                admission.route, messages, deadline, self._max_output_tokens, admission.candidates
            )
        except AllProvidersFailedError as exc:
            self._fail(
                workflow, exc.outcome, ProvidersUnavailableError.code, "no provider could serve the request", choice
            )
            self.settle(admission, workflow, "generate", exc.outcome)
            raise ProvidersUnavailableError(
                "No provider could serve the request; try again later.",
                exc.outcome,
                workflow_id=workflow.workflow_id,
                details=[{"reason": reason} for reason in exc.outcome.fallback_reasons],
            ) from exc
        except ProviderRequestRejectedError as exc:
            self._fail(workflow, exc.outcome, ProviderRejectedCampaignError.code, str(exc), choice)
            self.settle(admission, workflow, "generate", exc.outcome)
            raise ProviderRejectedCampaignError(
                "The provider rejected the request as invalid.", exc.outcome, workflow_id=workflow.workflow_id
            ) from exc
        completion = routed.completion
        cost = added_up(routed.outcome.billed_costs, routed.priced_model)  # a filtered answer's spend too
        step = _step("generate", "completed", routed.outcome, routed, cost).model_copy(
            update={"budget_note": admission.note, "experiment": choice.experiment, "variant": choice.variant}
        )
        workflow = self._update(
            workflow,
            status="completed",
            steps=[step],
            content=completion.content,
            provider=routed.provider,
            model=routed.priced_model,
            deployment=routed.model,
        )
        self.record_costs(workflow, "generate", routed.outcome, choice)
        self.settle(admission, workflow, "generate", routed.outcome)
        record_routing(routed.outcome)
        served = routed.outcome.attempts[-1]
        record_served_call(routed.provider, routed.priced_model, served.latency_ms, served.cost or cost)
        duration_ms = (time.perf_counter() - started) * 1000
        return CampaignRun(workflow, routed.outcome, cost, routed.fallback_used, duration_ms)

    def start(
        self,
        request: CampaignRequest,
        caller: Caller,
        status: WorkflowStatus = "running",
        path: RequestPath = "hybrid",
    ) -> Workflow:
        """Store a new workflow: ``running`` when served now, ``queued`` when the workflows queue will run it.

        ``path`` (hybrid or legacy, from the feature flags) is stored so a queued run takes the same one.
        """
        now = self._clock()
        workflow = Workflow(
            workflow_id=self._new_id(),
            owner_id=caller.user_id,
            tenant=caller.tenant,
            type=request.type,
            platforms=list(request.platforms),
            mode=request.mode,
            status=status,
            path=path,
            messages_total=len(request.data.recipients or ()),
            created_at=iso_timestamp(now),
            updated_at=iso_timestamp(now),
            expires_at=int(now) + self._ttl_s,
        )
        self._workflows.save(workflow)
        return workflow

    def record_costs(
        self, workflow: Workflow, step: str, outcome: RoutingOutcome, choice: RouteChoice | None = None
    ) -> None:
        """Record every billed call of one step in the cost ledger; ids are (workflow, step, attempt), so a
        retried invocation of the same step counts nothing twice. ``choice`` tags them with its experiment."""
        for event in billed_events(outcome, workflow=workflow, step=step, at=self._clock(), choice=choice):
            self._costs.record(event)

    def choose_route(self, route: str, user_id: str) -> RouteChoice:
        """The request's route: a running experiment's variant for this user, else the route in force."""
        if self._routes is None:
            return RouteChoice(self._router.candidates(route))
        return self._routes.choose(route, user_id)

    def admit(
        self,
        workflow: Workflow,
        step: str,
        route: str,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        candidates: Sequence[RouteCandidate] | None = None,
    ) -> Admission:
        """Reserve the step's maximum cost under its owner's and their tenant's monthly budgets (raises when
        it does not fit)."""
        reservation_id = f"{workflow.workflow_id}#{step}"
        try:
            return self._budget.admit(
                workflow.owner_id, reservation_id, route, messages, max_tokens, candidates, workflow.tenant
            )
        except BudgetError as exc:
            exc.workflow_id = workflow.workflow_id
            raise

    def settle(self, admission: Admission, workflow: Workflow, step: str, outcome: RoutingOutcome) -> None:
        """Settle a step's reservation to what it billed: the same events the ledger records."""
        if admission.reservation is None:
            return
        self._budget.settle(admission, sum(cost.nanos for cost in outcome.billed_costs))

    def _fail(self, workflow: Workflow, outcome: RoutingOutcome, code: str, message: str, choice: RouteChoice) -> None:
        self.record_costs(workflow, "generate", outcome, choice)
        record_routing(outcome)
        billed = outcome.billed_costs  # e.g. a completion filtered on output before every fallback failed
        step = _step("generate", "failed", outcome, None, added_up(billed, billed[0].priced_model) if billed else None)
        step = step.model_copy(update={"experiment": choice.experiment, "variant": choice.variant})
        self._update(workflow, status="failed", steps=[step], error=WorkflowError(code=code, message=message))

    def _update(self, workflow: Workflow, **changes: object) -> Workflow:
        updated = workflow.model_copy(update={**changes, "updated_at": iso_timestamp(self._clock())})
        self._workflows.save(updated)
        return updated


def served_choice(choice: RouteChoice, admitted_route: str, route: str) -> RouteChoice:
    """The choice as served: a call the budget moved to its downgrade route is in no experiment."""
    return choice if admitted_route == route else RouteChoice(choice.candidates)


def _step(
    name: str, status: str, outcome: RoutingOutcome, routed: RoutedCompletion | None, cost: CallCost | None
) -> WorkflowStep:
    """The workflow's record of one routed call, every attempt included."""
    return WorkflowStep(
        name=name,
        status=status,
        provider=routed.provider if routed else None,
        model=routed.priced_model if routed else None,
        deployment=routed.model if routed else None,
        attempts=[
            AttemptRecord(
                provider=attempt.provider,
                deployment=attempt.model,
                status=attempt.status,
                latency_ms=round(attempt.latency_ms),
                http_status=attempt.http_status,
                waited_ms=round(attempt.waited_ms),
                tokens=TokenUsage.of(attempt.cost) if attempt.cost else None,
                cost_micros=attempt.cost.micros if attempt.cost else 0,
                cost_nanos=attempt.cost.nanos if attempt.cost else 0,
            )
            for attempt in outcome.attempts
        ],
        fallback_reasons=list(outcome.fallback_reasons),
        tokens=TokenUsage.of(cost) if cost else TokenUsage(),
        cost_micros=cost.micros if cost else 0,
        cost_nanos=cost.nanos if cost else 0,
        latency_ms=round(outcome.provider_ms + outcome.waited_ms),
    )
