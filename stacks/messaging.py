"""SQS work queues (each with a dead-letter queue), the cost stream's on-failure queue and the SNS cost-alert topic."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from shared.core.naming import QUEUE_SUFFIXES, TOPIC_SUFFIX
from stacks import constants as c
from stacks.config import StackConfig
from stacks.nag import acknowledge
from stacks.route_table import consumer_of


class Messaging(Construct):
    """Workflows queue, rate-limited messages queue, their DLQs, and the cost-alert topic."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.workflows_queue, self.workflows_dlq = self._build_queue(
            "Workflows", QUEUE_SUFFIXES["workflows"], "workflows_queue", c.DLQ_MAX_RECEIVE_COUNT
        )
        self.messages_queue, self.messages_dlq = self._build_queue(
            "Messages", QUEUE_SUFFIXES["messages"], "messages_queue", c.MESSAGES_MAX_RECEIVE_COUNT
        )
        self.cost_stream_dlq = self._build_stream_dlq("CostStream", c.COST_STREAM_DLQ_SUFFIX)
        self.dlq_alarms = [
            self._build_dlq_alarm("Workflows", self.workflows_dlq, QUEUE_SUFFIXES["workflows"]),
            self._build_dlq_alarm("Messages", self.messages_dlq, QUEUE_SUFFIXES["messages"]),
            self._build_dlq_alarm(
                "CostStream", self.cost_stream_dlq, c.COST_STREAM_DLQ_SUFFIX.removesuffix(c.DLQ_SUFFIX)
            ),
        ]
        self.alert_topic = self._build_alert_topic()

    @property
    def queues(self) -> dict[str, sqs.Queue]:
        """Queues by the grant keys of ``FunctionSpec.uses``."""
        return {"workflows_queue": self.workflows_queue, "messages_queue": self.messages_queue}

    @property
    def failure_queues(self) -> dict[str, sqs.Queue]:
        """Stream mappings' on-failure queues by ``DynamoSource.on_failure_queue`` key."""
        return {"cost_stream_dlq": self.cost_stream_dlq}

    def _build_stream_dlq(self, construct_id: str, suffix: str) -> sqs.Queue:
        """Where the stream mapping sends a batch that exhausted its retries: Lambda puts the batch's shard and
        sequence numbers there (not the records), which is what a replay from the raw events needs."""
        queue = sqs.Queue(
            self,
            f"{construct_id}DeadLetterQueue",
            queue_name=self._config.name(suffix),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(c.DLQ_RETENTION_DAYS),
            removal_policy=RemovalPolicy.RETAIN if self._config.retain_data else RemovalPolicy.DESTROY,
        )
        acknowledge(
            queue,
            "SQS3",
            "This queue is itself the dead-letter destination of the costs table's stream mapping (an on-failure "
            "destination, which cdk-nag does not see as a DLQ); nothing consumes it, its depth alarm pages ops.",
        )
        return queue

    def _build_queue(
        self, construct_id: str, suffix: str, key: str, max_receive_count: int
    ) -> tuple[sqs.Queue, sqs.Queue]:
        """A queue and its DLQ; the visibility timeout is 6x its consumer's timeout (AWS's guidance)."""
        name = self._config.name(suffix)
        consumer = consumer_of(key)
        visibility_s = c.VISIBILITY_TIMEOUT_FACTOR * consumer.timeout_s if consumer else c.QUEUE_VISIBILITY_TIMEOUT_S
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
            visibility_timeout=Duration.seconds(visibility_s),
            retention_period=Duration.days(c.QUEUE_RETENTION_DAYS),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receive_count),
            removal_policy=removal,
        )
        return queue, dlq

    def _build_dlq_alarm(self, construct_id: str, dlq: sqs.Queue, suffix: str) -> cloudwatch.Alarm:
        """In alarm as soon as one message is dead-lettered: each one is a fan message (or a campaign) that failed."""
        return cloudwatch.Alarm(
            self,
            f"{construct_id}DeadLetterAlarm",
            alarm_name=self._config.name(f"{suffix}{c.DLQ_SUFFIX}-not-empty"),
            alarm_description="Messages in the dead-letter queue: inspect them, fix the cause, then redrive",
            metric=dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(c.DLQ_ALARM_PERIOD_MINUTES), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

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
