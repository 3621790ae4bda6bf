import pytest
from pydantic import ValidationError

from shared.api.auth import caller_from_claims, require_admin
from shared.errors import ForbiddenError, UnauthenticatedError
from shared.models import CampaignRequest
from shared.settings import Settings


def test_claims_as_api_gateway_renders_them():
    caller = caller_from_claims({"sub": "u1", "scope": "user admin", "tenant": "t9"})
    assert (caller.user_id, caller.is_admin, caller.tenant) == ("u1", True, "t9")
    assert caller_from_claims({"sub": "u2", "groups": "[admin ops]"}).is_admin
    assert not caller_from_claims({"sub": "u3", "scope": "user", "groups": "[ops]"}).is_admin
    assert not caller_from_claims({"sub": "u4", "scope": "administrator"}).is_admin


def test_missing_identity_is_unauthenticated_and_non_admin_is_forbidden():
    with pytest.raises(UnauthenticatedError):
        caller_from_claims(None)
    with pytest.raises(UnauthenticatedError):
        caller_from_claims({"scope": "admin"})
    with pytest.raises(ForbiddenError):
        require_admin(caller_from_claims({"sub": "u1"}))


def test_owner_or_admin_reads_a_workflow():
    assert caller_from_claims({"sub": "u1"}).can_read("u1")
    assert not caller_from_claims({"sub": "u2"}).can_read("u1")
    assert caller_from_claims({"sub": "u2", "scope": "admin"}).can_read("u1")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "poem", "platforms": ["x"], "data": {"theme": "a"}}, "type"),
        ({"type": "caption", "platforms": [], "data": {"theme": "a"}}, "platforms"),
        ({"type": "caption", "platforms": ["x", "x"], "data": {"theme": "a"}}, None),
        ({"type": "caption", "platforms": ["x"], "data": {}}, "data"),
        ({"type": "caption", "platforms": ["x"], "data": {"theme": "a", "colour": "red"}}, "data.colour"),
        ({"type": "caption", "platforms": ["x"], "data": {"theme": "a"}, "mode": "later"}, "mode"),
        ({"type": "caption", "platforms": ["x"], "data": {"theme": "a" * 501}}, "data.theme"),
        ({"platforms": ["x"], "data": {"theme": "a"}}, "type"),
    ],
)
def test_campaign_request_rejects_bad_input_with_the_field(body, field):
    with pytest.raises(ValidationError) as caught:
        CampaignRequest.model_validate(body)
    locations = {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
    if field:
        assert field in locations


def test_settings_derive_names_and_reject_unmapped_azure_deployments(monkeypatch):
    settings = Settings(stage="dev", resource_prefix="ho")
    assert settings.workflows_table_name == "ho-dev-workflows"
    assert settings.circuit_table_name == "ho-dev-circuit-state"
    with pytest.raises(ValidationError):
        Settings(routing_table={"caption": [{"provider": "azure", "model": "unmapped"}]})
    monkeypatch.setenv("OF_RATE_LIMIT", "0")
    with pytest.raises(ValidationError):
        Settings()
