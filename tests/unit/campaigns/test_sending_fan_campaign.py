"""fan_messages campaigns and async submission, against fake providers, stores and queues."""

from __future__ import annotations

import json
import threading
import time

import pytest
from pydantic import ValidationError

from shared.campaigns.async_jobs import AsyncCampaigns, WorkflowJob
from shared.campaigns.fan_messages import FanCampaignService
from shared.campaigns.models import CampaignRequest
from shared.campaigns.prompts import fan_prompt
from shared.campaigns.service import CampaignService
from shared.core.errors import (
    AccountNotAllowedError,
    CampaignInputError,
    ProvidersUnavailableError,
    QueueUnavailableError,
)
from shared.core.identity import Caller
from shared.core.pricing import PriceTable
from shared.ledger.ledger import CostLedger
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE
from shared.routing.deadline import Deadline
from shared.routing.errors import ProviderServerError
from shared.sending.messages import MessageCounts
from tests.support.fakes import (
    InMemoryCostStore,
    ScriptedProvider,
    completion,
    linked_accounts,
    scripted_router,
)
from tests.support.sending_fakes import (
    InMemoryMessageStates,
    InMemoryOnce,
    ListQueue,
    Store,
    sqs_record,
)

CALLER = Caller(user_id="u1")
ACCOUNT = "creator_01"


def fan_request(n: int, mode: str = "sync", **data) -> CampaignRequest:
    return CampaignRequest.model_validate(
        {
            "type": "fan_messages",
            "platforms": ["onlyfans"],
            "mode": mode,
            "data": {"accountId": ACCOUNT, "recipients": [f"fan-{i}" for i in range(n)], "theme": "thanks", **data},
        }
    )


class SlowProvider(ScriptedProvider):
    """Answers after ``delay_s``, recording how many calls overlap."""

    def __init__(self, delay_s: float) -> None:
        super().__init__("openai")
        self.delay_s, self.active, self.peak = delay_s, 0, 0
        self._lock = threading.Lock()

    def complete(self, model, messages, *, timeout_s, max_tokens):
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.delay_s)
        with self._lock:
            self.active -= 1
        return completion(f"hello {messages[-1]['content'].split()[1]}")


def build(openai=None, azure=(), concurrency=4, sync_max=50, accounts=None, messages=None):
    prices = PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)
    openai = openai if openai is not None else ScriptedProvider("openai")
    router = scripted_router(DEFAULT_ROUTING_TABLE, prices, openai, azure)
    store, queue, ledger = Store(), ListQueue(), CostLedger(InMemoryCostStore())
    ids = iter(f"wf_{n:032x}" for n in range(1, 100))
    campaigns = CampaignService(router, store, 200, 30, costs=ledger, new_id=lambda: next(ids))
    fans = FanCampaignService(
        campaigns,
        router,
        store,
        queue,
        accounts=accounts or linked_accounts({ACCOUNT: [CALLER.user_id]})[0],
        messages=messages if messages is not None else InMemoryMessageStates(),
        max_output_tokens=200,
        concurrency=concurrency,
        sync_max_recipients=sync_max,
    )
    return fans, campaigns, store, queue


def test_one_message_per_fan_is_queued_with_its_idempotency_key_and_nothing_is_sent():
    fans, _, store, queue = build()
    run = fans.run(fan_request(12), CALLER, Deadline(20))
    wf = run.workflow.workflow_id
    bodies = [json.loads(body) for body, _ in queue.sent]
    assert sorted(b["recipientId"] for b in bodies) == sorted(f"fan-{i}" for i in range(12))
    assert {b["idempotencyKey"] for b in bodies} == {f"{wf}#fan-{i}" for i in range(12)}
    assert all(b["accountId"] == ACCOUNT and b["workflowId"] == wf and b["text"] for b in bodies)
    assert run.counts == MessageCounts(sent=0, queued=12, failed=0)
    assert store.counts[wf] == MessageCounts(queued=12)
    stored = store.get(wf)
    assert stored.status == "running" and stored.messages_total == 12
    assert stored.steps[0].name == "generate_messages" and stored.steps[0].tokens.total == 12 * 150
    assert run.cost.micros == stored.steps[0].cost_micros > 0


def test_the_stored_workflow_is_written_before_the_first_message_is_queued():
    fans, _, store, _ = build()
    fans.run(fan_request(3), CALLER, Deadline(20))
    assert [w.status for w in store.history] == ["running", "running"]
    assert store.history[-1].steps and store.calls[0]["queued"] == 3  # counts only after the whole write


def test_generation_runs_in_parallel_but_never_above_the_concurrency_bound():
    slow = SlowProvider(0.2)
    fans, *_ = build(openai=slow, concurrency=5)
    started = time.perf_counter()
    fans.run(fan_request(20), CALLER, Deadline(20))
    elapsed = time.perf_counter() - started
    assert slow.peak == 5
    # 0.8 s in parallel, 4 s one after another: halfway leaves a loaded CI machine 1.2 s of slack.
    assert elapsed < 20 * 0.2 / 2


def test_each_fan_gets_a_prompt_naming_them():
    prompt = fan_prompt(fan_request(1, tone="playful").data, "fan-0")
    assert "fan-0" in prompt[-1]["content"] and "playful" in prompt[-1]["content"]


def test_a_fan_whose_message_cannot_be_generated_is_counted_failed():
    errors = [ProviderServerError("down", 500)]
    fans, _, _, queue = build(openai=ScriptedProvider("openai", errors), azure=[ProviderServerError("x", 500)])
    run = fans.run(fan_request(4), CALLER, Deadline(20))
    assert run.counts == MessageCounts(sent=0, queued=3, failed=1)
    assert len(queue.sent) == 3


def test_no_message_at_all_is_a_503_with_the_failed_workflow():
    down = [ProviderServerError("down", 500)] * 10
    fans, _, store, queue = build(openai=ScriptedProvider("openai", down), azure=down)
    with pytest.raises(ProvidersUnavailableError) as caught:
        fans.run(fan_request(3), CALLER, Deadline(20))
    stored = store.get(caught.value.workflow_id)
    assert stored.status == "failed" and stored.counts.failed == 3 and queue.sent == []


def test_messages_the_queue_refused_are_counted_failed():
    fans, _, store, queue = build()
    queue.reject = {0, 4}
    run = fans.run(fan_request(5), CALLER, Deadline(20))
    assert run.counts == MessageCounts(sent=0, queued=3, failed=2)
    assert store.counts[run.workflow.workflow_id] == MessageCounts(queued=3, failed=2)


def test_every_fan_has_a_record_queued_with_its_text_or_failed_with_why():
    states = InMemoryMessageStates()
    errors = [ProviderServerError("down", 500)]
    fans, _, store, queue = build(
        openai=ScriptedProvider("openai", errors), azure=[ProviderServerError("x", 500)], messages=states
    )
    queue.reject = {0}
    run = fans.run(fan_request(4), CALLER, Deadline(20))
    workflow_id = run.workflow.workflow_id
    records = states.of(workflow_id)
    assert store.get(workflow_id).recipient_ids == [f"fan-{i}" for i in range(4)]
    by_state = sorted(r.state for r in records.values())
    assert by_state == ["failed", "failed", "queued", "queued"]
    texts = {json.loads(body)["recipientId"]: json.loads(body)["text"] for body, _ in queue.sent}
    for fan, record in records.items():
        if record.state == "queued":
            assert record.text == texts[fan]
    reasons = sorted(r.reason for r in records.values() if r.state == "failed")
    assert reasons[0] == "could not be queued" and reasons[1].startswith("not generated: ")


def test_more_fans_than_a_sync_run_allows_is_a_422_pointing_at_async():
    fans, *_ = build(sync_max=10)
    with pytest.raises(CampaignInputError) as caught:
        fans.run(fan_request(11), CALLER, Deadline(20))
    assert caught.value.details[0]["field"] == "data.recipients"
    assert "async" in caught.value.details[0]["message"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"recipients": []}, "data.recipients"),
        ({"recipients": [f"f{i}" for i in range(1001)]}, "data.recipients"),
        ({"recipients": ["a", "b", "a"]}, "data.recipients"),
        ({"recipients": ["fan#1"]}, "data.recipients.0"),
        ({"accountId": "ab"}, "data.accountId"),
        ({"accountId": "has space"}, "data.accountId"),
        ({"accountId": "x" * 65}, "data.accountId"),
    ],
)
def test_fan_fields_are_validated_with_the_field_named(data, field):
    body = {
        "type": "fan_messages",
        "platforms": ["onlyfans"],
        "data": {"accountId": ACCOUNT, "recipients": ["fan-1"], "theme": "t", **data},
    }
    with pytest.raises(ValidationError) as caught:
        CampaignRequest.model_validate(body)
    assert field in {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


@pytest.mark.parametrize(
    "body",
    [
        {"type": "fan_messages", "platforms": ["onlyfans"], "data": {"theme": "t", "recipients": ["f"]}},
        {
            "type": "fan_messages",
            "platforms": ["instagram"],
            "data": {"theme": "t", "accountId": ACCOUNT, "recipients": ["f"]},
        },
        {"type": "caption", "platforms": ["x"], "data": {"theme": "t", "recipients": ["f"]}},
    ],
)
def test_fan_fields_belong_to_fan_messages_on_onlyfans(body):
    with pytest.raises(ValidationError):
        CampaignRequest.model_validate(body)


def async_parts(queue_broken=False):
    fans, campaigns, store, messages = build()
    jobs = ListQueue(broken=queue_broken)
    runner = AsyncCampaigns(campaigns, fans, store, jobs, InMemoryOnce(), margin_s=0.5)
    return runner, store, jobs, messages


def test_async_submit_stores_a_queued_workflow_and_its_job():
    runner, store, jobs, messages = async_parts()
    workflow = runner.submit(fan_request(3, mode="async"), CALLER)
    assert workflow.status == "queued" and store.get(workflow.workflow_id).messages_total == 3
    ((body, delay),) = jobs.sent
    job = WorkflowJob.model_validate_json(body)
    assert job.workflow_id == workflow.workflow_id and job.caller == CALLER and delay == 0
    assert messages.sent == []  # nothing generated until the runner takes the job


def test_async_submit_with_the_queue_down_fails_the_workflow_and_says_so():
    runner, store, _, _ = async_parts(queue_broken=True)
    with pytest.raises(QueueUnavailableError) as caught:
        runner.submit(fan_request(3, mode="async"), CALLER)
    assert store.get(caught.value.workflow_id).status == "failed"


def test_the_runner_runs_each_workflow_once_however_often_the_job_arrives():
    runner, store, jobs, messages = async_parts()
    workflow = runner.submit(fan_request(4, mode="async"), CALLER)
    record = sqs_record(jobs.sent[0][0])
    assert runner.handle(record) == "completed"
    assert runner.handle(record) == "completed"  # duplicate delivery: the stored result, no second run
    assert len(messages.sent) == 4
    assert store.get(workflow.workflow_id).status == "running"  # until the drainer sends the last one


def test_the_runner_runs_other_campaign_types_to_completion():
    runner, store, jobs, _ = async_parts()
    request = CampaignRequest(type="caption", platforms=["instagram"], data={"theme": "gym"}, mode="async")
    workflow = runner.submit(request, CALLER)
    assert runner.handle(sqs_record(jobs.sent[0][0])) == "completed"
    stored = store.get(workflow.workflow_id)
    assert stored.status == "completed" and stored.content


def unlinked_parts():
    """A fan campaign whose account is linked to someone else; the provider and the cost ledger kept to look at."""
    openai = ScriptedProvider("openai")
    accounts, registry = linked_accounts({ACCOUNT: ["someone-else"]})
    fans, campaigns, store, messages = build(openai=openai, accounts=accounts)
    return fans, campaigns, store, messages, openai, registry


@pytest.mark.parametrize("caller", [CALLER, Caller(user_id="root", is_admin=True)])
def test_a_sync_run_as_an_account_not_linked_to_the_caller_stores_spends_and_queues_nothing(caller):
    fans, campaigns, store, messages, openai, registry = unlinked_parts()
    with pytest.raises(AccountNotAllowedError):
        fans.run(fan_request(3), caller, Deadline(20))
    assert store.history == [] and messages.sent == [] and openai.calls == []
    assert campaigns._costs.store.items == {}  # the ledger recorded nothing
    assert registry.reads == 1


def test_an_async_submit_as_an_unlinked_account_queues_no_job():
    fans, campaigns, store, messages, openai, _ = unlinked_parts()
    jobs = ListQueue()
    runner = AsyncCampaigns(campaigns, fans, store, jobs, InMemoryOnce(), margin_s=0.5)
    with pytest.raises(AccountNotAllowedError):
        runner.submit(fan_request(3, mode="async"), CALLER)
    assert jobs.sent == [] and messages.sent == [] and store.history == [] and openai.calls == []


def test_a_queued_job_whose_account_was_unlinked_meanwhile_fails_without_generating():
    openai = ScriptedProvider("openai")
    accounts, _ = linked_accounts({ACCOUNT: [CALLER.user_id]})
    fans, campaigns, store, messages = build(openai=openai, accounts=accounts)
    jobs = ListQueue()
    runner = AsyncCampaigns(campaigns, fans, store, jobs, InMemoryOnce(), margin_s=0.5)
    workflow = runner.submit(fan_request(3, mode="async"), CALLER)
    accounts.remove(Caller(user_id="root", is_admin=True), ACCOUNT)
    assert runner.handle(sqs_record(jobs.sent[0][0])) == "failed"
    stored = store.get(workflow.workflow_id)
    assert stored.status == "failed" and stored.error.code == "ACCOUNT_NOT_ALLOWED"
    assert messages.sent == [] and openai.calls == []


def test_every_queued_message_says_which_user_it_is_sent_for():
    fans, _, _, queue = build()
    fans.run(fan_request(3), CALLER, Deadline(20))
    assert {json.loads(body)["userId"] for body, _ in queue.sent} == {CALLER.user_id}
