"""The experiments function as wired, over the moto server and the session's real Redis: its writes publish the
overrides' new version on the version board, so a warm campaign container (which re-reads the overrides only
when that version moves) sees an experiment start and stop on its very next request."""

from __future__ import annotations

from shared.experiments.model import Variant
from shared.experiments.service import ExperimentPlan
from shared.routing.candidates import RouteCandidate
from shared.routing.override_versions import RedisVersionBoard
from shared.routing.overrides import CachedRouteOverrides
from shared.wiring import container
from shared.wiring.routing import override_version_board

MINI = (RouteCandidate(provider="openai", model="gpt-4o-mini"),)
FOUR_O = (RouteCandidate(provider="openai", model="gpt-4o"),)
TYPE = "content_planning"  # no other test of this tier runs an experiment on it


def test_an_experiment_write_is_seen_by_a_warm_container_on_its_next_request(fresh_container) -> None:
    board = override_version_board()
    assert isinstance(board, RedisVersionBoard)  # the local stack gives every function Redis
    # Another container's view: its own cache over the same table and board, warm before the write.
    campaign_view = CachedRouteOverrides(container.routing_override_store(), 0, board=board)
    held = campaign_view.current()
    assert TYPE not in held.experiments and board.read() == held.version

    service = container.experiment_service()
    plan = ExperimentPlan("wiring: announce", TYPE, [Variant("A", MINI), Variant("B", FOUR_O)], [50, 50])
    running = service.start(plan, "ops")
    try:
        assert board.read() == held.version + 1
        assert campaign_view.current().experiments[TYPE]["id"] == running.experiment_id
    finally:
        service.stop(running.experiment_id, "ops")
    assert board.read() == held.version + 2
    assert TYPE not in campaign_view.current().experiments
