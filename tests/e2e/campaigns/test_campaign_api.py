"""The MVP campaign routes over HTTP, through the local API server, exactly as a client calls them."""

from __future__ import annotations

import requests

CAMPAIGN = {"type": "content_planning", "platforms": ["instagram"], "data": {"theme": "fitness"}, "mode": "sync"}


def post_campaign(api, body, user="u1", **headers):
    return requests.post(
        f"{api.url}/api/v2/campaigns/hybrid",
        json=body,
        headers={"Authorization": f"Bearer {api.token(user)}", **headers},
        timeout=30,
    )


def get_status(api, workflow_id, user="u1", admin=False):
    return requests.get(
        f"{api.url}/api/v2/campaigns/status",
        params={"workflowId": workflow_id},
        headers={"Authorization": f"Bearer {api.token(user, admin=admin)}"},
        timeout=10,
    )


def set_fault(api, **fault):
    response = requests.post(f"{api.url}/_sim/faults", json=fault, timeout=5)
    assert response.status_code < 300, response.text


def clear_faults(api):
    for provider in ("openai", "azure"):
        set_fault(api, provider=provider, count=0)


def test_sync_campaign_returns_content_provider_cost_and_how_it_was_served(api):
    response = post_campaign(api, CAMPAIGN)
    assert response.status_code == 200, response.text
    body = response.json()
    data, metrics = body["data"], body["metrics"]
    assert body["success"] is True
    assert data["status"] == "completed"
    assert (data["provider"], data["model"], data["deployment"]) == ("azure", "gpt-4o", "planner-gpt-4o")
    assert data["content"] and data["fallbackUsed"] is False
    assert data["workflowId"].startswith("wf_")
    assert isinstance(metrics["duration"], int) and metrics["duration"] >= 0
    assert metrics["cost"]["tokens"] == metrics["cost"]["inputTokens"] + metrics["cost"]["outputTokens"] > 0
    # gpt-4o on Azure: $2.75 / $11.00 per million tokens, rounded once to a whole micro-dollar.
    expected = round(metrics["cost"]["inputTokens"] * 2.75 + metrics["cost"]["outputTokens"] * 11.0)
    assert abs(metrics["cost"]["costMicros"] - expected) <= 1
    assert metrics["cost"]["cost"] == metrics["cost"]["costMicros"] / 1_000_000
    assert metrics["attempts"] == 1 and metrics["fallbacks"] == []
    assert response.headers["X-Orchestrator-Attempts"] == "1"
    assert float(response.headers["X-Orchestrator-Overhead-Ms"]) >= 0
    assert response.headers["X-Workflow-Id"] == data["workflowId"]
    stored = get_status(api, data["workflowId"]).json()["data"]
    assert (stored["model"], stored["deployment"]) == ("gpt-4o", "planner-gpt-4o")
    (step,) = stored["steps"]
    assert (step["model"], step["deployment"], step["attempts"][0]["deployment"]) == (
        "gpt-4o",
        "planner-gpt-4o",
        "planner-gpt-4o",
    )


def test_status_is_visible_to_its_owner_and_admins_only(api):
    workflow_id = post_campaign(api, {**CAMPAIGN, "type": "caption"}, user="owner").json()["data"]["workflowId"]
    mine = get_status(api, workflow_id, user="owner")
    assert mine.status_code == 200
    workflow = mine.json()["data"]
    assert workflow["status"] == "completed" and workflow["ownerId"] == "owner"
    step = workflow["steps"][0]
    assert (step["provider"], step["model"]) == ("openai", "gpt-4o-mini")
    assert step["attempts"][0]["status"] == "ok" and step["tokens"]["total"] > 0 and step["costMicros"] > 0
    assert workflow["counts"] == {"sent": 0, "queued": 0, "failed": 0}

    other = get_status(api, workflow_id, user="someone-else")
    assert other.status_code == 404 and other.json()["error"]["code"] == "WORKFLOW_NOT_FOUND"
    assert get_status(api, workflow_id, user="ops", admin=True).status_code == 200
    unknown = get_status(api, "wf_" + "0" * 32)
    assert unknown.status_code == 404


def test_fallback_is_visible_in_the_response_and_the_workflow(api):
    set_fault(api, provider="azure", status=500, count=2)
    try:
        response = post_campaign(api, CAMPAIGN)
    finally:
        clear_faults(api)
    body = response.json()
    assert response.status_code == 200, body
    assert body["data"]["provider"] == "openai" and body["data"]["fallbackUsed"] is True
    assert body["metrics"]["fallbacks"] == ["azure:planner-gpt-4o:server_error"]
    assert response.headers["X-Orchestrator-Fallbacks"] == "1"
    steps = get_status(api, body["data"]["workflowId"]).json()["data"]["steps"]
    assert [a["status"] for a in steps[0]["attempts"]] == ["server_error", "server_error", "ok"]


def test_both_providers_down_is_a_503_in_the_envelope_and_a_failed_workflow(api):
    set_fault(api, provider="openai", status=500, count=4)
    set_fault(api, provider="azure", status=500, count=4)
    try:
        response = post_campaign(api, {**CAMPAIGN, "type": "message_generation"})
    finally:
        clear_faults(api)
    assert response.status_code == 503
    assert response.headers["X-Orchestrator-Attempts"] == "4"
    assert response.headers["X-Orchestrator-Fallbacks"] == "2"
    error = response.json()["error"]
    assert error["code"] == "PROVIDERS_UNAVAILABLE" and error["workflowId"].startswith("wf_")
    assert response.headers["X-Workflow-Id"] == error["workflowId"]
    workflow = get_status(api, error["workflowId"]).json()["data"]
    assert workflow["status"] == "failed" and workflow["error"]["code"] == "PROVIDERS_UNAVAILABLE"


def test_provider_400_is_the_callers_error_without_fallback(api):
    set_fault(api, provider="openai", status=400, count=1)
    try:
        response = post_campaign(api, {**CAMPAIGN, "type": "caption"})
    finally:
        clear_faults(api)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "PROVIDER_REJECTED_REQUEST"
    assert response.headers["X-Workflow-Id"] == error["workflowId"]


def test_bad_input_is_400_or_422_with_field_details(api):
    token = api.token("u1")
    malformed = requests.post(
        f"{api.url}/api/v2/campaigns/hybrid",
        data=b'{"type": "caption",',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "MALFORMED_JSON"

    unknown_type = post_campaign(api, {**CAMPAIGN, "type": "poem"})
    assert unknown_type.status_code == 422
    assert "type" in {d["field"] for d in unknown_type.json()["error"]["details"]}

    missing = post_campaign(api, {"type": "caption"})
    assert missing.status_code == 422
    assert {"platforms", "data"} <= {d["field"] for d in missing.json()["error"]["details"]}

    bad_id = get_status(api, "not-an-id")
    assert bad_id.status_code == 422 and bad_id.json()["error"]["details"][0]["field"] == "workflowId"


def test_requests_without_a_valid_token_are_401(api):
    no_token = requests.post(f"{api.url}/api/v2/campaigns/hybrid", json=CAMPAIGN, timeout=10)
    assert no_token.status_code == 401
    status = requests.get(f"{api.url}/api/v2/campaigns/status", params={"workflowId": "wf_" + "0" * 32}, timeout=10)
    assert status.status_code == 401


def test_health_reports_every_check_without_a_token(api):
    response = requests.get(f"{api.url}/api/health/hybrid-orchestrator", timeout=10)
    assert response.status_code == 200
    report = response.json()
    assert (report["success"], report["status"]) == (True, "healthy") and "data" not in report
    checks = report["checks"]
    assert set(checks) == {"database", "orchestrator", "cache", "queue", "azureProvider", "openaiProvider"}
    for check in checks.values():
        assert check["status"] == "healthy" and check["latencyMs"] >= 0
    orchestrator = checks["orchestrator"]
    assert orchestrator["flags"] == "readable" and "unpriced" not in orchestrator
    assert orchestrator["circuits"]["azure:planner-gpt-4o"] == "CLOSED" and orchestrator["routes"] >= 8


def test_openapi_document_covers_every_route_with_its_errors_and_envelope(api):
    from stacks.route_table import ROUTES

    response = requests.get(f"{api.url}/api/openapi.json", timeout=30)
    assert response.status_code == 200
    document = response.json()
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    # The Swagger page and the dashboard's page and assets are HTML for people, not API operations.
    api_routes = [route for route in ROUTES if route.path != "/api/docs" and route.function != "dashboard"]
    served = {(route.method, route.path) for route in api_routes}
    assert served <= documented
    for route in api_routes:
        operation = document["paths"][route.path][route.method.lower()]
        assert bool(operation.get("security")) == route.authorized, route.path
        for status, spec in operation["responses"].items():
            unhealthy = route.function == "health" and status == "503"  # still the health report, by design
            if status.startswith(("4", "5")) and not unhealthy and (status != "422" or route.authorized):
                assert spec["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope"), (route, status)
    assert "bearerAuth" in document["components"]["securitySchemes"]
    page = requests.get(f"{api.url}/api/docs", timeout=30)
    assert page.status_code == 200 and "swagger" in page.text.lower() and "/api/v2/campaigns/hybrid" in page.text
