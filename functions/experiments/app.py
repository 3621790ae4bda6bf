"""/api/v2/experiments[/{id}[/stop|/promote]] and POST /api/v2/costs/optimization/recommendations/{id}/experiment.

Routing experiments (admins only): A/B tests of a campaign type's route, split by user, with results
from the ledger's variant counters and the reported outcomes. See docs/experiments.md.
"""

import time
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.auth import require_admin
from shared.api.experiments.schemas import (
    EXPERIMENT_ID,
    CreateExperimentRequest,
    ExperimentEnvelope,
    ExperimentsEnvelope,
    PromoteRequest,
)
from shared.api.experiments.views import after_token, experiment_response, listing_response, plan_of
from shared.api.optimization.schemas import RECOMMENDATION_ID
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.core.time import utc_day
from shared.wiring.experiments import experiment_service

app = build_resolver()

ExperimentIdPath = Annotated[str, Path(alias="experimentId", pattern=EXPERIMENT_ID, description="exp_…")]


@app.post(
    "/api/v2/experiments",
    tags=[ApiTag.EXPERIMENTS],
    summary="Start a routing experiment on a campaign type (admin): variants' routes and the split of users",
    security=BEARER_AUTH,
    responses={
        **ok(ExperimentEnvelope, "The experiment, running", 201),
        **error_responses(400, 401, 403, 409, 415, 422, 500),
    },
)
@tracer.capture_method
def create_experiment(request: Annotated[CreateExperimentRequest, Body()]) -> Response[dict]:
    """One read of the routing overrides, one transaction (the record and the running experiments)."""
    caller = current_caller(app)
    require_admin(caller)
    experiment = experiment_service().start(plan_of(request), caller.user_id)
    return experiment_response(experiment, time.time(), status=201)


@app.get(
    "/api/v2/experiments",
    tags=[ApiTag.EXPERIMENTS],
    summary="Routing experiments, newest first (admin); the running ones with their results",
    security=BEARER_AUTH,
    responses={**ok(ExperimentsEnvelope, "A page of experiments"), **error_responses(401, 403, 422, 500)},
)
@tracer.capture_method
def list_experiments(
    limit: Annotated[int, Query(ge=1, le=50, description="Page size")] = 20,
    next_token: Annotated[
        str | None, Query(alias="nextToken", max_length=512, description="From the previous page")
    ] = None,
) -> Response[dict]:
    """One Query, and one Query of variant counters per running experiment on the page."""
    require_admin(current_caller(app))
    service, now = experiment_service(), time.time()
    page = service.page(limit, after_token(next_token))
    results = {e.experiment_id: service.results(e) for e in page.experiments if e.status_at(now) == "running"}
    return listing_response(page, now, results)


@app.get(
    "/api/v2/experiments/<experimentId>",
    tags=[ApiTag.EXPERIMENTS],
    summary="One routing experiment with its results and verdict (admin)",
    security=BEARER_AUTH,
    responses={**ok(ExperimentEnvelope, "The experiment and its results"), **error_responses(401, 403, 404, 422, 500)},
)
@tracer.capture_method
def get_experiment(experiment_id: ExperimentIdPath) -> Response[dict]:
    """One GetItem, one Query of its variant counters, one read of its outcomes."""
    require_admin(current_caller(app))
    service = experiment_service()
    experiment = service.get(experiment_id)
    return experiment_response(experiment, time.time(), service.results(experiment))


@app.post(
    "/api/v2/experiments/<experimentId>/stop",
    tags=[ApiTag.EXPERIMENTS],
    summary="Stop a running experiment (admin): every user back on the type's route in force",
    security=BEARER_AUTH,
    responses={**ok(ExperimentEnvelope, "The experiment, stopped"), **error_responses(401, 403, 404, 409, 422, 500)},
)
@tracer.capture_method
def stop_experiment(experiment_id: ExperimentIdPath) -> Response[dict]:
    """One transaction: the running experiments without it, and its record."""
    caller = current_caller(app)
    require_admin(caller)
    return experiment_response(experiment_service().stop(experiment_id, caller.user_id), time.time())


@app.post(
    "/api/v2/experiments/<experimentId>/promote",
    tags=[ApiTag.EXPERIMENTS],
    summary="Promote a variant (admin): its route becomes the type's route (an audited routing change)",
    security=BEARER_AUTH,
    responses={
        **ok(ExperimentEnvelope, "The experiment, promoted; changeId names the routing change"),
        **error_responses(400, 401, 403, 404, 409, 415, 422, 500),
    },
)
@tracer.capture_method
def promote_experiment(experiment_id: ExperimentIdPath, request: Annotated[PromoteRequest, Body()]) -> Response[dict]:
    """One transaction: the winner's route, the audit item, the running experiments and the record."""
    caller = current_caller(app)
    require_admin(caller)
    experiment, _ = experiment_service().promote(experiment_id, request.variant, caller.user_id)
    return experiment_response(experiment, time.time())


@app.post(
    "/api/v2/costs/optimization/recommendations/<recommendationId>/experiment",
    tags=[ApiTag.OPTIMIZATION],
    summary="Try a recommendation as an experiment instead of applying it (admin): A the route now, B proposed",
    security=BEARER_AUTH,
    responses={
        **ok(ExperimentEnvelope, "The experiment, running, 50/50", 201),
        **error_responses(401, 403, 404, 409, 422, 500),
    },
)
@tracer.capture_method
def experiment_from_recommendation(
    recommendation_id: Annotated[
        str,
        Path(alias="recommendationId", pattern=RECOMMENDATION_ID, description="From GET /api/v2/costs/optimization"),
    ],
) -> Response[dict]:
    """The optimizer's reads (overrides, 30 days of counters), then the experiment's transaction."""
    caller = current_caller(app)
    require_admin(caller)
    now = time.time()
    experiment = experiment_service().start_from_recommendation(recommendation_id, caller.user_id, utc_day(now))
    return experiment_response(experiment, now, status=201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
