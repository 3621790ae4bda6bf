"""One campaign request, end to end: which path the flags choose, then queued (async) or run now (sync).

The campaign handler calls :meth:`CampaignDispatcher.run` and maps what comes back: a queued
:class:`~shared.campaigns.models.Workflow` (202) or a finished run (200).
"""

from __future__ import annotations

from typing import Protocol

from shared.campaigns.async_jobs import AsyncCampaigns
from shared.campaigns.fan_messages import FanCampaignRun, FanCampaignService
from shared.campaigns.models import FAN_MESSAGES, CampaignRequest, Workflow
from shared.campaigns.service import CampaignRun, CampaignService
from shared.core.identity import Caller
from shared.core.observability import logger
from shared.routing.deadline import Deadline
from shared.routing.flags import PathDecision


class PathGate(Protocol):
    """Decides hybrid or legacy for a user (the feature flags)."""

    def decide(self, user_id: str) -> PathDecision: ...


class CampaignDispatcher:
    """Routes a validated request to the async queue, the fan-message service or the campaign service."""

    def __init__(
        self, gate: PathGate, jobs: AsyncCampaigns, campaigns: CampaignService, fans: FanCampaignService
    ) -> None:
        self._gate, self._jobs, self._campaigns, self._fans = gate, jobs, campaigns, fans

    def run(
        self, request: CampaignRequest, caller: Caller, deadline: Deadline
    ) -> Workflow | CampaignRun | FanCampaignRun:
        """The queued workflow (``mode: async``) or the finished run."""
        decision = self._gate.decide(caller.user_id)
        logger.append_keys(path=decision.path, path_reason=decision.reason)
        if request.mode == "async":
            return self._jobs.submit(request, caller, path=decision.path)
        if request.type == FAN_MESSAGES:
            return self._fans.run(request, caller, deadline, path=decision.path)
        return self._campaigns.run(request, caller, deadline, path=decision.path)
