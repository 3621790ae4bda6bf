"""The Hybrid Orchestrator stack: data, messaging, secrets, layers, functions and the HTTP API."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from stacks import constants as c
from stacks.api import HttpApiGateway
from stacks.config import StackConfig
from stacks.data import DataStore
from stacks.flags import FeatureFlagConfig
from stacks.functions import OrchestratorFunctions
from stacks.layers import Layers
from stacks.messaging import Messaging
from stacks.nag import apply_nag_checks
from stacks.network import SendingNetwork
from stacks.observability import Observability
from stacks.secrets import ProviderSecrets


class OrchestratorStack(Stack):
    """Everything the orchestrator needs in one stack, named ``<prefix>-<stage>``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        kwargs.setdefault("stack_name", config.stack_name)
        kwargs.setdefault("description", f"Hybrid Orchestrator ({config.stage}): hybrid LLM routing, costs, sending")
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        Tags.of(self).add("project", c.POWERTOOLS_SERVICE_NAME)
        Tags.of(self).add("stage", config.stage)

        self.data = DataStore(self, "Data", config=config)
        self.messaging = Messaging(self, "Messaging", config=config)
        self.secrets = ProviderSecrets(self, "Secrets", config=config)
        self.layers = Layers(self, "Layers", config=config)
        self.network = SendingNetwork(self, "Network", config=config)
        self.flags = FeatureFlagConfig(self, "Flags", config=config)
        self.functions = OrchestratorFunctions(
            self,
            "Functions",
            config=config,
            data=self.data,
            messaging=self.messaging,
            secrets=self.secrets,
            layers=self.layers,
            network=self.network,
            flags=self.flags,
        )
        self.api = HttpApiGateway(self, "Api", config=config, entrypoints=self.functions.entrypoints)
        self.observability = Observability(
            self,
            "Observability",
            config=config,
            functions=self.functions.functions,
            http_api=self.api.http_api,
            dlq_alarms=self.messaging.dlq_alarms,
            stream_consumer=self.functions.functions["cost_aggregator"],
            stream_dlq=self.messaging.cost_stream_dlq,
        )
        self._build_outputs()
        apply_nag_checks(self)

    def _build_outputs(self) -> None:
        outputs = {
            "ApiUrl": self.api.url,
            "WorkflowsTableName": self.data.workflows_table.table_name,
            "CostsTableName": self.data.costs_table.table_name,
            "CircuitStateTableName": self.data.circuits_table.table_name,
            "IdempotencyTableName": self.data.idempotency_table.table_name,
            "CreatorAccountsTableName": self.data.creator_accounts_table.table_name,
            "WorkflowsQueueUrl": self.messaging.workflows_queue.queue_url,
            "WorkflowsDeadLetterQueueUrl": self.messaging.workflows_dlq.queue_url,
            "MessagesQueueUrl": self.messaging.messages_queue.queue_url,
            "MessagesDeadLetterQueueUrl": self.messaging.messages_dlq.queue_url,
            "CostAlertTopicArn": self.messaging.alert_topic.topic_arn,
            "OpsAlarmTopicArn": self.observability.ops_topic.topic_arn,
            "DashboardName": self.observability.dashboard.dashboard_name,
        }
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)
