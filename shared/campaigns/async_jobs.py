"""Async campaigns: ``"mode": "async"`` stores a queued workflow and a job on the workflows queue;
the workflow runner Lambda executes the job, once per workflow id, however often SQS delivers it.

The job carries the validated request and the caller, so the runner needs nothing but the queue
message. A fan campaign's caller is checked against the creator account before anything is
stored or queued, and again when the job runs: an account unlinked meanwhile sends nothing. The
runner's deadline is its own Lambda's remaining time (minutes), not API Gateway's 29 s, which is
what lets a 1000-fan campaign generate its messages.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.campaigns.fan_messages import FanCampaignService
from shared.campaigns.models import FAN_MESSAGES, CampaignRequest, Workflow, WorkflowError
from shared.campaigns.service import CampaignService
from shared.campaigns.workflows import WorkflowRepository
from shared.core.errors import AccountNotAllowedError, DomainError, QueueUnavailableError
from shared.core.identity import Caller
from shared.core.models import CamelModel
from shared.core.observability import logger
from shared.core.once import OnceGuard
from shared.core.queues import Queue
from shared.core.time import iso_timestamp
from shared.routing.deadline import Deadline
from shared.routing.paths import RequestPath

JobResult = Literal["completed", "failed", "skipped", "missing"]


class WorkflowJob(CamelModel):
    """The workflows queue's message: which workflow, whose, and the request to run."""

    workflow_id: str
    caller: Caller
    request: CampaignRequest


class AsyncCampaigns:
    """Submits async campaigns (campaign function) and runs them (workflow runner function)."""

    def __init__(
        self,
        campaigns: CampaignService,
        fans: FanCampaignService,
        workflows: WorkflowRepository,
        queue: Queue,
        once: OnceGuard,
        *,
        margin_s: float,
    ) -> None:
        self._campaigns = campaigns
        self._fans = fans
        self._workflows = workflows
        self._queue = queue
        self._once = once
        self._margin_s = margin_s
        self._context: Any = None

    def submit(self, request: CampaignRequest, caller: Caller, path: RequestPath = "hybrid") -> Workflow:
        """Store the workflow as queued and queue its job; a queue outage fails the workflow and says so (503)."""
        if request.type == FAN_MESSAGES:
            self._fans.authorize(request, caller)
        workflow = self._campaigns.start(request, caller, status="queued", path=path)
        job = WorkflowJob(workflow_id=workflow.workflow_id, caller=caller, request=request)
        try:
            self._queue.send(job.model_dump_json(by_alias=True))
        except Exception as exc:
            logger.exception("could not queue a workflow", extra={"workflow_id": workflow.workflow_id})
            error = WorkflowError(code=QueueUnavailableError.code, message="the workflows queue is unavailable")
            self._workflows.save(workflow.model_copy(update={"status": "failed", "error": error}))
            raise QueueUnavailableError(
                "The campaign could not be queued; try again.", workflow_id=workflow.workflow_id
            ) from exc
        return workflow

    def bind(self, context: Any) -> None:
        """The runner invocation's Lambda context: its deadline and the idempotency lease."""
        self._context = context
        self._once.bind(context)

    def handle(self, record: SQSRecord) -> JobResult:
        """Run one job, at most once to completion per workflow id; raising makes SQS retry it."""
        job = WorkflowJob.model_validate_json(record.body)
        return self._once.run(job.workflow_id, lambda: {"status": self._run(job)})["status"]

    def _run(self, job: WorkflowJob) -> JobResult:
        workflow = self._workflows.get(job.workflow_id)
        if workflow is None:
            logger.warning("job for a missing workflow", extra={"workflow_id": job.workflow_id})
            return "missing"
        if workflow.status not in ("queued", "running"):  # "running": a crashed run, retried by SQS
            return "skipped"
        if job.request.type == FAN_MESSAGES:
            try:
                self._fans.authorize(job.request, job.caller)
            except AccountNotAllowedError as exc:  # unlinked since it was queued
                error = WorkflowError(code=exc.code, message=exc.message)
                changes = {"status": "failed", "error": error, "updated_at": iso_timestamp(time.time())}
                self._workflows.save(workflow.model_copy(update=changes))
                return "failed"
        workflow = workflow.model_copy(update={"status": "running", "updated_at": iso_timestamp(time.time())})
        self._workflows.save(workflow)
        deadline = Deadline.for_invocation(self._context, math.inf, self._margin_s)
        try:
            if job.request.type == FAN_MESSAGES:
                self._fans.execute(workflow, job.request, deadline)
            else:
                self._campaigns.execute(workflow, job.request, deadline)
        except DomainError as exc:  # the service already stored the workflow as failed, with why
            logger.warning("async campaign failed", extra={"workflow_id": job.workflow_id, "code": exc.code})
            return "failed"
        return "completed"
