"""DynamoDB tables: workflows, cost ledger, circuit-breaker state, idempotency records, creator accounts."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from shared.core.naming import TABLE_SUFFIXES
from stacks import constants as c
from stacks.config import StackConfig


class DataStore(Construct):
    """The orchestrator's tables. Plain ``Table`` (not ``TableV2``) so moto can build them from the template."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.workflows_table = self._build_table(
            "WorkflowsTable",
            TABLE_SUFFIXES["workflows"],
            partition_key=c.WORKFLOWS_PARTITION_KEY,
            ttl_attribute=c.WORKFLOWS_TTL_ATTRIBUTE,
        )
        self.costs_table = self._build_table(
            "CostsTable",
            TABLE_SUFFIXES["costs"],
            partition_key=c.COSTS_PARTITION_KEY,
            sort_key=c.COSTS_SORT_KEY,
            ttl_attribute=c.COSTS_TTL_ATTRIBUTE,
            # New images only: the cost aggregator folds inserted events (old images would double the stream).
            stream=dynamodb.StreamViewType.NEW_IMAGE,
        )
        self.circuits_table = self._build_table(
            "CircuitStateTable",
            TABLE_SUFFIXES["circuits"],
            partition_key=c.POWERTOOLS_PARTITION_KEY,
            ttl_attribute=c.POWERTOOLS_TTL_ATTRIBUTE,
        )
        self.idempotency_table = self._build_table(
            "IdempotencyTable",
            TABLE_SUFFIXES["idempotency"],
            partition_key=c.POWERTOOLS_PARTITION_KEY,
            ttl_attribute=c.POWERTOOLS_TTL_ATTRIBUTE,
        )
        # Who may send as which creator account: records that live until an admin removes them, so no TTL.
        self.creator_accounts_table = self._build_table(
            "CreatorAccountsTable",
            TABLE_SUFFIXES["creator_accounts"],
            partition_key=c.CREATOR_ACCOUNTS_PARTITION_KEY,
            sort_key=c.CREATOR_ACCOUNTS_SORT_KEY,
            ttl_attribute=None,
        )

    @property
    def tables(self) -> dict[str, dynamodb.Table]:
        """Tables by the grant keys of ``FunctionSpec.uses``."""
        return {
            "workflows_table": self.workflows_table,
            "costs_table": self.costs_table,
            "circuits_table": self.circuits_table,
            "idempotency_table": self.idempotency_table,
            "creator_accounts_table": self.creator_accounts_table,
        }

    def _build_table(
        self,
        construct_id: str,
        suffix: str,
        *,
        partition_key: str,
        ttl_attribute: str | None,
        sort_key: str | None = None,
        stream: dynamodb.StreamViewType | None = None,
    ) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            table_name=self._config.name(suffix),
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=ttl_attribute,
            stream=stream,
            deletion_protection=self._config.retain_data,
            removal_policy=RemovalPolicy.RETAIN if self._config.retain_data else RemovalPolicy.DESTROY,
        )
