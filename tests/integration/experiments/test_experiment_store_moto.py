"""The experiments' store on the moto server: of two creates racing on one type only one wins (the overrides'
version condition), an optimizer change keeps the running experiments, and a promotion lands route, audit
item and record in one transaction."""

from __future__ import annotations

import pytest

from shared.core.errors import ExperimentConflictError
from shared.core.pricing import PriceTable
from shared.experiments.model import Variant
from shared.experiments.results import ResultsReader
from shared.experiments.service import ExperimentPlan, ExperimentService
from shared.experiments.store import DynamoExperimentStore
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE, RouteCandidate
from shared.routing.overrides import DynamoRoutingOverrideStore, RouteChange, new_change_id
from tests.support.experiments import NoOutcomes, ScriptedStatistics

MINI = (RouteCandidate(provider="openai", model="gpt-4o-mini"),)
FOUR_O = (RouteCandidate(provider="openai", model="gpt-4o"),)
PLAN = ExperimentPlan("race", "caption", [Variant("A", MINI), Variant("B", FOUR_O)], [50, 50])


class ReadThenYield(DynamoExperimentStore):
    """A store whose first read of the current item lets another admin's create run before it writes."""

    def __init__(self, *args, meanwhile) -> None:
        super().__init__(*args)
        self._meanwhile = meanwhile

    def current(self):
        read = super().current()
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            meanwhile()
        return read


def service(table, store):
    results = ResultsReader(table.store(), NoOutcomes(), ScriptedStatistics())
    return ExperimentService(store, DEFAULT_ROUTING_TABLE, PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS), results)


def stores(table):
    client = table.stack.moto.client("dynamodb")
    overrides = DynamoRoutingOverrideStore(table.name, client)
    return client, overrides


@pytest.mark.integration
def test_two_creates_on_one_type_one_wins(table) -> None:
    client, overrides = stores(table)
    other = service(table, DynamoExperimentStore(table.name, client, overrides))
    won = []
    racing = service(
        table, ReadThenYield(table.name, client, overrides, meanwhile=lambda: won.append(other.start(PLAN, "ops-2")))
    )
    with pytest.raises(ExperimentConflictError) as lost:
        racing.start(PLAN, "ops-1")
    assert lost.value.details[0]["field"] == "campaignType"
    assert overrides.current().experiments["caption"]["id"] == won[0].experiment_id


@pytest.mark.integration
def test_an_optimizer_change_keeps_the_running_experiments_and_a_promotion_lands_whole(table) -> None:
    client, overrides = stores(table)
    experiments = service(table, DynamoExperimentStore(table.name, client, overrides))
    running = experiments.start(PLAN, "ops")
    current = overrides.current()
    change = RouteChange(new_change_id(1.0), "apply", "fan_messages", MINI, FOUR_O, False, True, "ops", 1.0)
    overrides.commit(change, {"fan_messages": FOUR_O}, current.version)
    after = overrides.current()
    assert after.routes["fan_messages"] == FOUR_O and after.experiments["caption"]["id"] == running.experiment_id
    promoted, promotion = experiments.promote(running.experiment_id, "B", "ops")
    final = overrides.current()
    assert final.routes == {"fan_messages": FOUR_O, "caption": FOUR_O} and final.experiments == {}
    assert overrides.change(promotion.change_id).after == FOUR_O and running.experiment_id in promotion.by
    stored = experiments.get(running.experiment_id)
    assert (stored.status, stored.promoted_variant, stored.change_id) == ("promoted", "B", promotion.change_id)
    assert stored.ended_at == pytest.approx(promoted.ended_at, abs=0.001)
    page = experiments.page(10, None)
    assert [e.experiment_id for e in page.experiments] == [running.experiment_id] and page.last is None


@pytest.mark.integration
def test_every_write_announces_the_new_version_and_a_failed_announcement_keeps_the_write(table) -> None:
    client, overrides = stores(table)
    announced = []
    experiments = service(table, DynamoExperimentStore(table.name, client, overrides, announce=announced.append))
    running = experiments.start(PLAN, "ops")
    experiments.stop(running.experiment_id, "ops")
    assert announced == [1, 2] == [1, overrides.current().version]

    def unreachable(version: int) -> None:
        raise ConnectionError("Redis is down")

    failing = service(table, DynamoExperimentStore(table.name, client, overrides, announce=unreachable))
    again = failing.start(PLAN, "ops")
    assert overrides.current().experiments["caption"]["id"] == again.experiment_id
