"""The feature flags' AppConfig profile: seeded from the shipped document, readable only where needed."""

from __future__ import annotations

import json

from shared.routing.flags import DEFAULT_FLAGS_FILE
from stacks.route_table import FUNCTIONS
from tests.support.infra import PREFIX_STAGE, Synth, _as_list, _statements


def test_appconfig_application_environment_and_profile_hold_the_shipped_flags(synth: Synth) -> None:
    (application,) = synth.of_type("AWS::AppConfig::Application").values()
    assert application["Properties"]["Name"] == f"{PREFIX_STAGE}-flags"
    (environment,) = synth.of_type("AWS::AppConfig::Environment").values()
    assert environment["Properties"]["Name"] == "test"
    (profile,) = synth.of_type("AWS::AppConfig::ConfigurationProfile").values()
    assert profile["Properties"]["Name"] == "feature-flags"
    (version,) = synth.of_type("AWS::AppConfig::HostedConfigurationVersion").values()
    assert json.loads(version["Properties"]["Content"]) == json.loads(DEFAULT_FLAGS_FILE.read_text())
    assert version["Properties"]["ContentType"] == "application/json"
    assert len(synth.of_type("AWS::AppConfig::Deployment")) == 1


def test_only_functions_that_use_flags_may_read_them(synth: Synth) -> None:
    for name, spec in FUNCTIONS.items():
        actions = {a for s in _statements(synth, name) for a in _as_list(s["Action"])}
        reads_flags = {"appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"} <= actions
        assert reads_flags == ("feature_flags" in spec.uses), name
    assert "feature_flags" in FUNCTIONS["campaign"].uses and "feature_flags" in FUNCTIONS["admin_flags"].uses
