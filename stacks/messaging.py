"""SQS work queues (each with a dead-letter queue) and the SNS cost-alert topic."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from shared.naming import QUEUE_SUFFIXES, TOPIC_SUFFIX
from stacks import constants as c
from stacks.config import StackConfig


class Messaging(Construct):
    """Workflows queue, rate-limited messages queue, their DLQs, and the cost-alert topic."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.workflows_queue, self.workflows_dlq = self._build_queue("Workflows", QUEUE_SUFFIXES["workflows"])
        self.messages_queue, self.messages_dlq = self._build_queue("Messages", QUEUE_SUFFIXES["messages"])
        self.alert_topic = self._build_alert_topic()

    @property
    def queues(self) -> dict[str, sqs.Queue]:
        """Queues by the grant keys of ``FunctionSpec.uses``."""
        return {"workflows_queue": self.workflows_queue, "messages_queue": self.messages_queue}

    def _build_queue(self, construct_id: str, suffix: str) -> tuple[sqs.Queue, sqs.Queue]:
        name = self._config.name(suffix)
        removal = RemovalPolicy.RETAIN if self._config.retain_data else RemovalPolicy.DESTROY
        dlq = sqs.Queue(
            self,
            f"{construct_id}DeadLetterQueue",
            queue_name=f"{name}{c.DLQ_SUFFIX}",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(c.DLQ_RETENTION_DAYS),
            removal_policy=removal,
        )
        queue = sqs.Queue(
            self,
            f"{construct_id}Queue",
            queue_name=name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(c.QUEUE_VISIBILITY_TIMEOUT_S),
            retention_period=Duration.days(c.QUEUE_RETENTION_DAYS),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=c.DLQ_MAX_RECEIVE_COUNT),
            removal_policy=removal,
        )
        return queue, dlq

    def _build_alert_topic(self) -> sns.Topic:
        topic = sns.Topic(
            self,
            "CostAlertTopic",
            topic_name=self._config.name(TOPIC_SUFFIX),
            display_name="Hybrid Orchestrator cost alerts",
            enforce_ssl=True,
        )
        # The AWS-managed SNS key, by its plain alias (the L2 would turn it into a partial ARN): encryption
        # at rest with no key to pay for or administer, and Lambda publishers need no KMS grant for it.
        # CloudWatch alarms cannot publish to a topic under this key: give alarms their own topic or a CMK.
        cfn_topic = topic.node.default_child
        assert isinstance(cfn_topic, sns.CfnTopic)
        cfn_topic.kms_master_key_id = c.SNS_MANAGED_KEY_ALIAS
        for email in self._config.alert_emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic
