import json

import pytest

from shared.api.resolver import build_resolver, current_caller
from shared.campaigns.models import CampaignRequest
from shared.core.errors import BudgetExceededError, ProvidersUnavailableError, WorkflowNotFoundError
from shared.routing.types import RoutingOutcome
from tests.support.http import event


def app_under_test():
    app = build_resolver()

    @app.post("/c")
    def create(request: CampaignRequest):
        caller = current_caller(app)
        return {"user": caller.user_id}

    @app.get("/missing")
    def missing():
        raise WorkflowNotFoundError("No such workflow.")

    @app.get("/down")
    def down():
        outcome = RoutingOutcome(fallback_reasons=["openai:m:server_error"], total_ms=5.0)
        raise ProvidersUnavailableError("down", outcome, workflow_id="wf_1", details=[{"reason": "x"}])

    @app.get("/over-budget")
    def over_budget():
        raise BudgetExceededError("Over the monthly cap.", workflow_id="wf_2")

    @app.get("/bug")
    def bug():
        raise RuntimeError("boom")

    return app


def call(ev):
    response = app_under_test().resolve(ev, None)
    return response["statusCode"], json.loads(response["body"])


GOOD = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "gym"}}


def test_malformed_json_is_400():
    status, body = call(event("POST", "/c", raw="{not json", claims={"sub": "u1"}))
    assert status == 400 and body["error"]["code"] == "MALFORMED_JSON" and body["success"] is False


def test_validation_error_is_422_with_field_details():
    status, body = call(event("POST", "/c", body={**GOOD, "type": "poem"}, claims={"sub": "u1"}))
    assert status == 422
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert any(d["field"] == "type" for d in body["error"]["details"])


def test_non_utf8_body_is_400_not_500():
    status, body = call(event("POST", "/c", raw=b"\xff\xfe\xfa", claims={"sub": "u1"}))
    assert status == 400, body


def test_wrong_content_type_is_415():
    status, _ = call(event("POST", "/c", body=GOOD, claims={"sub": "u1"}, content_type="text/plain"))
    assert status == 415


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/csv"],
)
def test_only_json_bodies_are_parsed_anything_else_is_415(content_type):
    status, body = call(event("POST", "/c", raw="type=caption", claims={"sub": "u1"}, content_type=content_type))
    assert status == 415 and body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_missing_claims_is_401():
    status, body = call(event("POST", "/c", body=GOOD))
    assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"


def test_domain_errors_map_to_status_and_carry_workflow_id():
    assert call(event("GET", "/missing", claims={"sub": "u1"}))[0] == 404
    response = app_under_test().resolve(event("GET", "/down", claims={"sub": "u1"}), None)
    body = json.loads(response["body"])
    assert response["statusCode"] == 503 and body["error"]["workflowId"] == "wf_1"
    assert response["headers"]["X-Orchestrator-Fallbacks"] == "1"
    assert response["headers"]["X-Workflow-Id"] == "wf_1"


def test_an_error_after_a_workflow_was_created_carries_its_id_in_the_header_too():
    budget = app_under_test().resolve(event("GET", "/over-budget", claims={"sub": "u1"}), None)
    assert budget["statusCode"] == 402 and budget["headers"]["X-Workflow-Id"] == "wf_2"
    assert json.loads(budget["body"])["error"]["workflowId"] == "wf_2"
    missing = app_under_test().resolve(event("GET", "/missing", claims={"sub": "u1"}), None)
    assert "X-Workflow-Id" not in missing["headers"]  # no workflow was created: nothing to point at


def test_unknown_route_404_and_unexpected_error_500_in_the_envelope():
    status, body = call(event("GET", "/nope", claims={"sub": "u1"}))
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    status, body = call(event("GET", "/bug", claims={"sub": "u1"}))
    assert status == 500 and body["error"]["code"] == "INTERNAL_ERROR"


def test_usd_amounts_below_a_hundredth_of_a_cent_are_written_as_plain_json_numbers():
    from shared.api.envelope import success
    from shared.core.pricing import usd_amount

    app = build_resolver()

    @app.get("/money")
    def money():
        return success({"cost": usd_amount(22), "note": "2.2e-05 stays as written", "tiny": [usd_amount(1)]})

    raw = app.resolve(event("GET", "/money"), None)["body"]
    assert '"cost":0.000022' in raw and '"tiny":[0.000001]' in raw and "e-0" not in raw.replace("2.2e-05 stays", "")
    assert json.loads(raw)["data"] == {"cost": 2.2e-05, "note": "2.2e-05 stays as written", "tiny": [1e-06]}


@pytest.mark.parametrize(
    ("number", "text"), [("2.2e-05", "0.000022"), ("-1.5e-07", "-0.00000015"), ("1e-06", "0.000001")]
)
def test_fixed_notation_keeps_the_value_and_its_digits(number, text):
    from shared.api.json_body import fixed_notation

    assert fixed_notation(number) == text and float(text) == float(number)
