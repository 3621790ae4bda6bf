import pytest
from pydantic import ValidationError

from shared.alerts.thresholds import GLOBAL_OWNER
from shared.api.auth import RESERVED_USER_IDS, caller_from_claims, require_admin
from shared.campaigns.models import CampaignRequest
from shared.config.settings import Settings
from shared.core.errors import ForbiddenError, UnauthenticatedError
from shared.ledger.keys import TOTAL


def test_admin_is_the_admin_scope_as_api_gateway_parses_it():
    caller = caller_from_claims({"sub": "u1", "scope": "user admin", "tenant": "t9"}, ["user", "admin"])
    assert (caller.user_id, caller.is_admin, caller.tenant) == ("u1", True, "t9")
    assert not caller_from_claims({"sub": "u4"}, ["administrator", "Admin", "admins"]).is_admin


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"sub": "u2", "groups": "[admin ops]"}, None),  # a group is no scope
        ({"sub": "u2", "groups": "billing admin"}, ["user"]),  # a group *named* "billing admin"
        ({"sub": "u2", "cognito:groups": "[admin]"}, ["user"]),
        ({"sub": "u2", "scope": "user admin"}, None),  # the claim alone: the authorizer's scopes decide
        ({"sub": "u2", "scope": "user,admin"}, ["user,admin"]),  # one scope spelled with a comma
        ({"sub": "u2", "scp": "[admin]"}, ["[admin]"]),
        ({"sub": "u2"}, ["billing admin"]),  # an scp list entry with a space is one scope
    ],
    ids=["groups", "group-with-space", "cognito-groups", "claim-only", "comma", "brackets", "scp-entry"],
)
def test_spellings_that_must_not_grant_admin(claims, scopes):
    assert not caller_from_claims(claims, scopes).is_admin


@pytest.mark.parametrize(
    "sub",
    ["", "   ", None, "a#b", "USER#u1", "u1\n", "u\x00", "u\x7f1", "\tu1", " u1", "u1 ", "ALL", "x" * 257],
    ids=["empty", "blank", "none", "hash", "key", "newline", "nul", "del", "tab", "lead", "trail", "ALL", "long"],
)
def test_reserved_or_key_like_subjects_are_unauthenticated(sub):
    with pytest.raises(UnauthenticatedError):
        caller_from_claims({"sub": sub}, ["user"])


def test_ordinary_subjects_pass():
    for sub in ("u1", "auth0|5f7c8ec7c33c6c004bbafe82", "0d7e1f2a-3b4c-4d5e-8f90-123456789abc", "all", "jean dupont"):
        assert caller_from_claims({"sub": sub}).user_id == sub


def test_reserved_ids_cover_the_key_layouts_own_owners():
    assert {TOTAL, GLOBAL_OWNER} <= RESERVED_USER_IDS


def test_missing_identity_is_unauthenticated_and_non_admin_is_forbidden():
    with pytest.raises(UnauthenticatedError):
        caller_from_claims(None)
    with pytest.raises(UnauthenticatedError):
        caller_from_claims({"scope": "admin"}, ["admin"])
    with pytest.raises(ForbiddenError):
        require_admin(caller_from_claims({"sub": "u1"}))


def test_owner_or_admin_reads_a_workflow():
    assert caller_from_claims({"sub": "u1"}).can_read("u1")
    assert not caller_from_claims({"sub": "u2"}).can_read("u1")
    assert caller_from_claims({"sub": "u2"}, ["admin"]).can_read("u1")


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


def test_a_tenant_admin_needs_the_scope_and_a_tenant_claim_and_administers_that_tenant_only():
    admin = caller_from_claims({"sub": "ann", "tenant": "acme"}, ["user", "tenant_admin"])
    assert admin.is_tenant_admin and admin.administers("acme") and not admin.administers("globex")
    assert not caller_from_claims({"sub": "ann"}, ["tenant_admin"]).is_tenant_admin  # no tenant: nothing to run
    assert not caller_from_claims({"sub": "al", "tenant": "acme"}, ["user"]).administers("acme")
    assert caller_from_claims({"sub": "ops"}, ["admin"]).administers("globex")  # platform admins: every tenant
