"""Build the CDK app from context: shared by ``app.py`` and the infrastructure tests."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment

from stacks import constants as c
from stacks.config import StackConfig
from stacks.orchestrator_stack import OrchestratorStack

CONFIG_KEYS = (
    c.CTX_STAGE,
    c.CTX_PREFIX,
    c.CTX_JWT_ISSUER,
    c.CTX_JWT_AUDIENCE,
    c.CTX_ALERT_EMAILS,
    c.CTX_DAILY_THRESHOLD,
    c.CTX_MONTHLY_THRESHOLD,
    c.CTX_AZURE_ENDPOINT,
    c.CTX_REDIS_URL,
    c.CTX_REDIS_CLUSTER_MODE,
    c.CTX_VPC_ID,
    c.CTX_VPC_SUBNET_IDS,
    c.CTX_VPC_AZS,
    c.CTX_VPC_ROUTE_TABLE_IDS,
    c.CTX_REDIS_SECURITY_GROUP,
    c.CTX_CREATE_VPC_ENDPOINTS,
    c.CTX_GATEWAY_URL,
    c.CTX_PUBLIC_BASE_URL,
    c.CTX_ROUTE_THROTTLES,
    c.CTX_CAMPAIGN_RESERVED_CONCURRENCY,
)


def load_cdk_json_context(path: Path = c.CDK_JSON) -> dict[str, Any]:
    """The ``context`` block of cdk.json (what the cdk CLI would pass in ``CDK_CONTEXT_JSON``)."""
    return dict(json.loads(path.read_text()).get("context", {}))


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None) -> tuple[App, OrchestratorStack]:
    """Create the app and its stack; ``context`` overrides cdk.json's context.

    Run by the cdk CLI, the CLI's ``CDK_CONTEXT_JSON`` already holds cdk.json and ``-c`` values
    (the App reads it); run as ``python app.py``, cdk.json is read here so synth needs no CLI.
    Pass ``{"aws:cdk:bundling-stacks": []}`` to skip building the layers (tests do).
    """
    app_context = {} if os.environ.get("CDK_CONTEXT_JSON") else load_cdk_json_context()
    app_context.update(context or {})
    app = App(context=app_context, outdir=outdir)
    config = StackConfig.from_context({key: app.node.try_get_context(key) for key in CONFIG_KEYS})
    env = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    stack = OrchestratorStack(app, config.stack_name, config=config, env=env)
    return app, stack
