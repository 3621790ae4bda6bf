"""The composition root's one entry: every factory, re-exported from its feature's wiring module.

Each ``shared/wiring/<feature>.py`` builds that feature's collaborators once per container (cached
factories) and holds no policy. Handlers import the factories they need from here or from the feature
module; :func:`clear_caches` forgets every one of them (tests, and a settings change).
"""

from __future__ import annotations

import sys

from shared.wiring.alerts import alert_rule_store as alert_rule_store
from shared.wiring.alerts import cost_stream_consumer as cost_stream_consumer
from shared.wiring.alerts import default_thresholds as default_thresholds
from shared.wiring.alerts import forecast_watch as forecast_watch
from shared.wiring.alerts import slack_poster as slack_poster
from shared.wiring.alerts import spend_forecaster as spend_forecaster
from shared.wiring.alerts import threshold_checker as threshold_checker
from shared.wiring.alerts import threshold_store as threshold_store
from shared.wiring.aws import _botocore_session as _botocore_session
from shared.wiring.aws import aws_client as aws_client
from shared.wiring.aws import dynamodb_client as dynamodb_client
from shared.wiring.aws import once_guard as once_guard
from shared.wiring.aws import queue as queue
from shared.wiring.billing import tenant_statements as tenant_statements
from shared.wiring.budgets import budget_guard as budget_guard
from shared.wiring.campaigns import async_campaigns as async_campaigns
from shared.wiring.campaigns import campaign_dispatcher as campaign_dispatcher
from shared.wiring.campaigns import campaign_service as campaign_service
from shared.wiring.campaigns import fan_campaign_service as fan_campaign_service
from shared.wiring.campaigns import message_states as message_states
from shared.wiring.campaigns import workflow_reader as workflow_reader
from shared.wiring.campaigns import workflow_store as workflow_store
from shared.wiring.creator_accounts import creator_account_service as creator_account_service
from shared.wiring.experiments import experiment_service as experiment_service
from shared.wiring.experiments import route_chooser as route_chooser
from shared.wiring.health import health_check as health_check
from shared.wiring.health import health_probes as health_probes
from shared.wiring.ledger import cost_ledger as cost_ledger
from shared.wiring.ledger import cost_tracker as cost_tracker
from shared.wiring.optimization import cost_optimizer as cost_optimizer
from shared.wiring.outcomes import outcome_service as outcome_service
from shared.wiring.outcomes import outcome_store as outcome_store
from shared.wiring.routing import circuit_config as circuit_config
from shared.wiring.routing import circuit_states as circuit_states
from shared.wiring.routing import circuit_store as circuit_store
from shared.wiring.routing import price_table as price_table
from shared.wiring.routing import provider_key as provider_key
from shared.wiring.routing import provider_router as provider_router
from shared.wiring.routing import request_deadline as request_deadline
from shared.wiring.routing import rollout_gate as rollout_gate
from shared.wiring.routing import route_overrides as route_overrides
from shared.wiring.routing import routing_override_store as routing_override_store
from shared.wiring.routing import served_routing_table as served_routing_table
from shared.wiring.sending import message_drainer as message_drainer
from shared.wiring.sending import redis_connection as redis_connection
from shared.wiring.sending import send_once_guard as send_once_guard
from shared.wiring.sending import sliding_limiter as sliding_limiter
from shared.wiring.settings import get_settings as get_settings

WIRING_MODULES = [
    "shared.wiring.alerts",
    "shared.wiring.aws",
    "shared.wiring.billing",
    "shared.wiring.budgets",
    "shared.wiring.campaigns",
    "shared.wiring.creator_accounts",
    "shared.wiring.experiments",
    "shared.wiring.health",
    "shared.wiring.ledger",
    "shared.wiring.optimization",
    "shared.wiring.outcomes",
    "shared.wiring.routing",
    "shared.wiring.sending",
]


def clear_caches() -> None:
    """Forget every cached collaborator and the settings: the next call builds them from the environment."""
    get_settings.cache_clear()
    if redis_connection.cache_info().currsize:
        redis_connection().close()  # its sockets now, not whenever the garbage collector runs
    for module in (sys.modules[name] for name in WIRING_MODULES):
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == module.__name__:
                value.cache_clear()
