"""Domain errors. The API layer maps each to a status code and an envelope in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.routing.types import RoutingOutcome


class DomainError(Exception):
    """Base class; ``code`` is the stable, machine-readable error code of the envelope."""

    code = "ERROR"

    def __init__(self, message: str, workflow_id: str | None = None, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.workflow_id = workflow_id
        self.details = details or []


class WorkflowNotFoundError(DomainError):
    """No such workflow, or not the caller's: the two look the same so ids cannot be probed."""

    code = "WORKFLOW_NOT_FOUND"


class RoutingError(DomainError):
    """A routed request that no provider served; ``outcome`` says what was tried."""

    def __init__(
        self, message: str, outcome: RoutingOutcome, workflow_id: str | None = None, details: list[dict] | None = None
    ) -> None:
        super().__init__(message, workflow_id, details)
        self.outcome = outcome


class ProvidersUnavailableError(RoutingError):
    """Every provider candidate failed or was skipped (circuit open, deadline, errors)."""

    code = "PROVIDERS_UNAVAILABLE"


class ProviderRejectedCampaignError(RoutingError):
    """A provider judged the request itself invalid; retrying elsewhere would not help."""

    code = "PROVIDER_REJECTED_REQUEST"


class CampaignInputError(DomainError):
    """A request valid on its own that cannot be served as asked (e.g. too many fans for a sync run): 422."""

    code = "VALIDATION_ERROR"


class QueueUnavailableError(DomainError):
    """The work could not be put on its queue; nothing was lost, the caller may retry: 503."""

    code = "QUEUE_UNAVAILABLE"


class BudgetError(DomainError):
    """The monthly budget did not let the call run (the campaign services fail the workflow with the code)."""


class BudgetExceededError(BudgetError):
    """The request could cost more than is left of the caller's monthly hard cap: 402, with the figures."""

    code = "BUDGET_EXCEEDED"


class BudgetUnavailableError(BudgetError):
    """The budget could not be checked (the costs table failed): refused rather than run unchecked, 503."""

    code = "BUDGET_UNAVAILABLE"


class UnauthenticatedError(DomainError):
    """No verified identity in the event (API Gateway's authorizer normally stops this earlier)."""

    code = "UNAUTHORIZED"


class ForbiddenError(DomainError):
    """The caller is known but not allowed."""

    code = "FORBIDDEN"


class RecommendationNotFoundError(DomainError):
    """No optimization recommendation has this id, now or in the routing audit log: 404."""

    code = "RECOMMENDATION_NOT_FOUND"


class RouteChangeNotFoundError(DomainError):
    """No routing change has this id: 404."""

    code = "ROUTE_CHANGE_NOT_FOUND"


class RoutingConflictError(DomainError):
    """The routing is not in the state the change starts from (changed meanwhile, or no longer valid): 409."""

    code = "ROUTING_CONFLICT"


class StaleRecommendationError(RoutingConflictError):
    """The recommendation was real but is no longer current (applied, or its route changed since): 409."""

    code = "RECOMMENDATION_NOT_CURRENT"


class ThresholdNotFoundError(DomainError):
    """No such spend threshold, or not the caller's: the two look the same (404)."""

    code = "THRESHOLD_NOT_FOUND"


class AlertRuleNotFoundError(DomainError):
    """No such alert rule, or not the caller's: the two look the same (404)."""

    code = "ALERT_RULE_NOT_FOUND"


class AccountNotAllowedError(DomainError):
    """The caller is not linked to the creator account they asked to send as (admins included): 403."""

    code = "ACCOUNT_NOT_ALLOWED"


class CreatorAccountNotFoundError(DomainError):
    """No creator account has this id in the registry: 404."""

    code = "ACCOUNT_NOT_FOUND"


class TenantNotFoundError(DomainError):
    """Another tenant than the caller's own, to a tenant admin: it looks like none (404)."""

    code = "TENANT_NOT_FOUND"


class CreatorAccountConflictError(DomainError):
    """The account kept changing under concurrent writes; the caller may retry: 409."""

    code = "ACCOUNT_CONFLICT"


class LimitReachedError(DomainError):
    """A per-owner cap (thresholds per owner, rules per threshold) would be exceeded: 409, the cap in ``details``."""

    code = "LIMIT_REACHED"

    def __init__(self, field: str, limit: int, message: str) -> None:
        super().__init__(message, details=[{"field": field, "message": message, "type": "limit", "limit": limit}])
        self.limit = limit


class OutcomeConflictError(DomainError):
    """The outcome id was already reported with a different body (``details`` names the field), or the message
    kept changing under concurrent reports: 409."""

    code = "OUTCOME_CONFLICT"


class ExperimentInputError(DomainError):
    """An experiment that cannot run as asked (split, variants, routes, end): 422, each field in ``details``."""

    code = "VALIDATION_ERROR"


class ExperimentNotFoundError(DomainError):
    """No routing experiment has this id: 404."""

    code = "EXPERIMENT_NOT_FOUND"


class ExperimentConflictError(DomainError):
    """Another experiment runs on the campaign type, or this one is not running any more: 409."""

    code = "EXPERIMENT_CONFLICT"
