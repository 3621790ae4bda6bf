import copy
import json

import pytest
from aws_lambda_powertools.utilities.feature_flags import FeatureFlags
from aws_lambda_powertools.utilities.feature_flags.exceptions import ConfigurationStoreError

from shared.routing.flags import DEFAULT_FLAGS_FILE, JsonFileStore, PathDecision, RolloutGate, rollout_bucket

DEFAULT_DOCUMENT = json.loads(DEFAULT_FLAGS_FILE.read_text())


def document(percent=100, allow=(), deny=(), enabled=True):
    doc = copy.deepcopy(DEFAULT_DOCUMENT)
    doc["hybrid_orchestrator_enabled"]["default"] = enabled
    rules = doc["hybrid_rollout"]["rules"]
    rules["deny listed users take the legacy path"]["conditions"][0]["value"] = list(deny)
    rules["allow listed users take the hybrid path"]["conditions"][0]["value"] = list(allow)
    rules["percentage rollout"]["conditions"][0]["value"]["END"] = percent - 1
    if percent == 0:
        del rules["percentage rollout"]
    return doc


@pytest.fixture
def flags_file(tmp_path):
    path = tmp_path / "flags.json"

    def write(doc):
        path.write_text(json.dumps(doc))
        return path

    return write


def gate(path, enabled_by_environment=True, max_age=0):
    return RolloutGate(FeatureFlags(store=JsonFileStore(path, max_age=max_age)), enabled_by_environment)


def test_default_document_sends_everyone_to_the_hybrid_path(flags_file):
    g = gate(flags_file(DEFAULT_DOCUMENT))
    assert {g.decide(f"user-{n}").path for n in range(50)} == {"hybrid"}


def test_environment_kill_switch_wins_over_any_document(flags_file):
    g = gate(flags_file(document(allow=["vip"])), enabled_by_environment=False)
    assert g.decide("vip").path == "legacy"


def test_kill_switch_flag_turns_everyone_legacy(flags_file):
    g = gate(flags_file(document(enabled=False, allow=["vip"])))
    decision = g.decide("vip")
    assert decision.path == "legacy" and "hybrid_orchestrator_enabled" in decision.reason


def test_thirty_percent_rollout_is_about_thirty_percent_and_stable(flags_file):
    g = gate(flags_file(document(percent=30)))
    users = [f"user-{n}" for n in range(1000)]
    first = {u: g.decide(u).path for u in users}
    share = sum(path == "hybrid" for path in first.values()) / len(users)
    assert 0.25 <= share <= 0.35
    assert all(g.decide(u).path == first[u] for u in users)
    assert all((first[u] == "hybrid") == (rollout_bucket(u) < 30) for u in users)


def test_deny_list_beats_rollout_and_allow_list_beats_a_zero_rollout(flags_file):
    g = gate(flags_file(document(percent=0, allow=["vip"], deny=["blocked"])))
    assert g.decide("vip").path == "hybrid"
    assert g.decide("someone") == PathDecision("legacy", "outside rollout")
    assert g.decide("blocked") == PathDecision("legacy", "deny-listed")
    g = gate(flags_file(document(percent=100, deny=["blocked"])))
    assert g.decide("blocked") == PathDecision("legacy", "deny-listed")
    assert g.decide("anyone-else") == PathDecision("hybrid", "in rollout")


def test_the_probe_raises_when_the_flags_cannot_be_read_where_decide_fails_safe(tmp_path):
    g = gate(tmp_path / "missing.json")
    assert g.decide("u1") == PathDecision("legacy", "flag store unavailable")
    with pytest.raises(ConfigurationStoreError):
        g.probe()


def test_a_change_is_seen_once_the_cache_expires(flags_file):
    path = flags_file(document(percent=100))
    g = gate(path, max_age=3600)
    assert g.decide("u1").path == "hybrid"
    path.write_text(json.dumps(document(enabled=False)))
    assert g.decide("u1").path == "hybrid"  # still cached
    g_fresh = gate(path, max_age=0)
    assert g_fresh.decide("u1").path == "legacy"


def test_unreadable_store_fails_safe_to_legacy(tmp_path):
    assert gate(tmp_path / "missing.json").decide("u1").path == "legacy"


def test_describe_lists_every_flag_with_rules_and_value(flags_file):
    g = gate(flags_file(document(percent=0, allow=["vip"])))
    described = {flag["name"]: flag for flag in g.describe("vip")}
    assert described["hybrid_rollout"]["value"] is True
    assert "allow listed users take the hybrid path" in described["hybrid_rollout"]["rules"]
    assert described["hybrid_orchestrator_enabled"]["value"] is True
    assert {f["name"]: f["value"] for f in g.describe("other")}["hybrid_rollout"] is False


def test_appconfig_store_serves_the_same_document_through_powertools():
    """The deployed path: AppConfigData answers the flag document (botocore Stubber, no network)."""
    import io

    import boto3
    from aws_lambda_powertools.utilities.feature_flags import AppConfigStore
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    client = boto3.client("appconfigdata", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    payload = json.dumps(document(percent=0, allow=["vip"])).encode()
    with Stubber(client) as stub:
        stub.add_response(
            "start_configuration_session",
            {"InitialConfigurationToken": "token-1"},
            {
                "ApplicationIdentifier": "hybrid-orch-dev",
                "EnvironmentIdentifier": "dev",
                "ConfigurationProfileIdentifier": "feature-flags",
            },
        )
        stub.add_response(
            "get_latest_configuration",
            {
                "Configuration": StreamingBody(io.BytesIO(payload), len(payload)),
                "NextPollConfigurationToken": "token-2",
                "ContentType": "application/json",
            },
            {"ConfigurationToken": "token-1"},
        )
        store = AppConfigStore(
            environment="dev", application="hybrid-orch-dev", name="feature-flags", max_age=15, boto3_client=client
        )
        assert store.get_configuration()["hybrid_rollout"]["default"] is False
        g = RolloutGate(FeatureFlags(store=store))
        assert g.decide("vip").path == "hybrid"
        assert g.decide("other").path == "legacy"  # served from the cache: no second AppConfig call


def test_legacy_routing_keeps_one_candidate_of_the_legacy_provider():
    from shared.routing.candidates import DEFAULT_ROUTING_TABLE
    from shared.routing.paths import legacy_routing_table

    legacy = legacy_routing_table(DEFAULT_ROUTING_TABLE, "openai")
    assert {t: [(c.provider, c.model) for c in cs] for t, cs in legacy.items()} == {
        "content_planning": [("openai", "gpt-4o")],
        "message_generation": [("openai", "gpt-4o-mini")],
        "fan_messages": [("openai", "gpt-4o-mini")],
        "caption": [("openai", "gpt-4o-mini")],
    }
    assert all(len(cs) == 1 for cs in legacy_routing_table(DEFAULT_ROUTING_TABLE, "azure").values())
