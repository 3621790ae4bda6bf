import pytest

from shared.core.errors import ProviderRejectedCampaignError, ProvidersUnavailableError
from shared.routing.deadline import Deadline
from shared.routing.errors import ProviderRejectedRequest, ProviderServerError
from tests.support.campaigns import CALLER, REQUEST, service
from tests.support.fakes import (
    completion,
)


def test_completed_run_stores_running_then_completed_with_priced_step():
    svc, store = service(openai=[completion("Caption!", input_tokens=1000, output_tokens=500)])
    run = svc.run(REQUEST, CALLER, Deadline(20))
    assert [w.status for w in store.history] == ["running", "completed"]
    stored = store.get(run.workflow.workflow_id)
    assert stored.owner_id == "u1" and stored.tenant == "t1"
    assert stored.content == "Caption!"
    assert stored.expires_at == 1_800_000_000 + 30 * 86_400
    step = stored.steps[0]
    assert (step.provider, step.model, step.deployment) == ("openai", "gpt-4o-mini", "gpt-4o-mini")
    assert step.cost_micros == run.cost.micros == 150 + 300
    assert step.tokens.total == 1500


def test_all_providers_down_marks_the_workflow_failed_and_names_it_in_the_error():
    svc, store = service(openai=[ProviderServerError("x", 500)], azure=[ProviderServerError("y", 500)])
    with pytest.raises(ProvidersUnavailableError) as caught:
        svc.run(REQUEST, CALLER, Deadline(20))
    workflow = store.get(caught.value.workflow_id)
    assert workflow.status == "failed"
    assert workflow.error.code == "PROVIDERS_UNAVAILABLE"
    assert [a.status for a in workflow.steps[0].attempts] == ["server_error", "server_error"]
    assert len(caught.value.details) == 2


def test_provider_rejection_is_the_callers_error_and_fails_the_workflow():
    svc, store = service(openai=[ProviderRejectedRequest("bad", 400)])
    with pytest.raises(ProviderRejectedCampaignError) as caught:
        svc.run(REQUEST, CALLER, Deadline(20))
    assert store.get(caught.value.workflow_id).status == "failed"
