"""What the threshold, alert-rule and optimization functions' IAM conditions allow is what they write: each route
resolved by its real handler module over the container's stores against the moto server, every costs-table write
watched on the botocore client, compared with ``THRESHOLD_WRITE_PREFIXES`` / ``OPTIMIZATION_WRITE_PREFIXES`` (the
lists stacks/functions.py turns into ``dynamodb:LeadingKeys`` patterns; tests/infra/api/test_trust_infra.py checks
that side)."""

from __future__ import annotations

import json
import time
import uuid
from fnmatch import fnmatchcase

import pytest

from shared.config.settings import get_settings
from shared.ledger.keys import OPTIMIZATION_WRITE_PREFIXES, THRESHOLD_WRITE_PREFIXES
from shared.routing.overrides import RouteChange, new_change_id
from shared.wiring import container
from tests.support.http import event as http_event
from tests.support.written_keys import watching_writes

pytestmark = pytest.mark.integration


def outside(written: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [key for key in written if not any(fnmatchcase(key, f"{p}*") for p in prefixes)]


def resolved(app, method: str, path: str, body: dict, claims: dict) -> dict:
    reply = app.resolve(http_event(method, path, body, claims=claims), None)
    assert reply["statusCode"] in (200, 201), reply
    return json.loads(reply["body"])["data"]


def test_threshold_and_rule_routes_write_only_thresholds_and_their_rules(fresh_container) -> None:
    from functions.cost_alerts.app import app as alerts_app
    from functions.cost_thresholds.app import app as thresholds_app

    user = {"sub": f"owner-writes-{uuid.uuid4().hex[:12]}"}
    clients = (container.dynamodb_client(), container.threshold_store()._client, container.alert_rule_store()._client)
    with watching_writes(clients, get_settings().cost_table_name) as written:
        threshold = resolved(
            thresholds_app,
            "POST",
            "/api/v2/costs/thresholds",
            {"scope": "user", "period": "daily", "amountUsd": "5"},
            user,
        )
        rule = resolved(
            alerts_app,
            "POST",
            "/api/v2/costs/alerts",
            {"thresholdId": threshold["thresholdId"], "channel": {"type": "email"}},
            user,
        )
        resolved(alerts_app, "PUT", "/api/v2/costs/alerts", {"ruleId": rule["ruleId"], "enabled": False}, user)

    assert len(written) >= 4  # threshold and owner marker, rule and its count, the changed rule
    assert outside(written, THRESHOLD_WRITE_PREFIXES) == []


def test_the_optimization_routes_store_writes_only_the_routing_overrides_and_their_audit_log(fresh_container) -> None:
    """Apply and revert both end in the overrides store's one commit (shared/optimization/service.py)."""
    store = container.routing_override_store()
    before = store.current()
    kind = "caption"
    route = tuple(get_settings().routing_table[kind])  # overridden with the configured route: routing unchanged
    now = time.time()
    change = RouteChange(new_change_id(now), "apply", kind, route, route, False, True, "root", now)
    undone = RouteChange(new_change_id(now + 1), "revert", kind, route, route, True, False, "root", now + 1)
    with watching_writes([container.dynamodb_client()], get_settings().cost_table_name) as written:
        store.commit(change, {**before.routes, kind: route}, before.version)
        store.commit(undone, dict(before.routes), before.version + 1)

    assert len(written) == 4  # each commit: the current item and its audited change
    assert outside(written, OPTIMIZATION_WRITE_PREFIXES) == []
