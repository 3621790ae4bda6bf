"""Helpers over the synthesized template that several infra tests use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from stacks.orchestrator_stack import OrchestratorStack

TEST_CONTEXT: dict[str, Any] = {
    "aws:cdk:bundling-stacks": [],  # skip pip: no layer is built in the tests
    "stage": "test",
    "resourcePrefix": "ho-infra",
    "jwtIssuer": "https://issuer.example.test/",
    "jwtAudience": ["orchestrator-api", "orchestrator-admin"],
    "alertEmails": ["alerts@example.test", "finance@example.test"],
    "dailyCostThresholdUsd": 12.5,
    "monthlyCostThresholdUsd": 300,
    "azureOpenAiEndpoint": "https://test-resource.openai.azure.com/",
    "redisUrl": "redis://cache.example.test:6379/0",
    "publicBaseUrl": "https://api.example.test",
}


PREFIX_STAGE = "ho-infra-test"


@dataclass(frozen=True)
class Synth:
    """The synthesized stack, its template (assertions API and plain dict) and the assembly folder."""

    stack: OrchestratorStack
    template: Template
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, Any]
    outdir: Path

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation type, by logical id."""
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


def _function(synth: Synth, name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v)
        for k, v in synth.of_type("AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"] == f"{PREFIX_STAGE}-{name}"
    ]
    return found


def _statements(synth: Synth, function_name: str) -> list[dict[str, Any]]:
    """Every IAM statement attached to the function's execution role."""
    _, function = _function(synth, function_name)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_on(statements: list[dict[str, Any]], logical_id: str) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        if logical_id in json.dumps(statement["Resource"]):
            actions = statement["Action"]
            found |= {actions} if isinstance(actions, str) else set(actions)
    return found


def named(synth: Synth, resource_type: str, prop: str, name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in synth.of_type(resource_type).items() if v["Properties"].get(prop) == name]
    return found


def _authorizer_id(synth: Synth) -> str:
    (logical_id,) = synth.of_type("AWS::ApiGatewayV2::Authorizer")
    return logical_id
