"""The real `openai` SDK against the provider simulator over HTTP: the product's clients, unchanged."""

import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

import openai
import pytest
from openai import AzureOpenAI, OpenAI

from local.provider_sim import DEFAULT_KEYS, ProviderSimulator

pytestmark = pytest.mark.integration

MESSAGES = [
    {"role": "system", "content": "You write short captions for a creator."},
    {"role": "user", "content": "Write a caption for my sunset paddleboard video"},
]


@pytest.fixture(scope="module")
def sim():
    with ProviderSimulator() as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim):
    sim.reset()


@pytest.fixture
def oai(sim):
    return OpenAI(base_url=sim.url + "/v1", api_key=DEFAULT_KEYS["openai"], max_retries=0)


@pytest.fixture
def azure(sim):
    return AzureOpenAI(azure_endpoint=sim.url, api_key=DEFAULT_KEYS["azure"], api_version="2024-10-21", max_retries=0)


def control(sim, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sim.url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_openai_completion_echoes_model_and_reports_usage(oai):
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.model == "gpt-4o-mini"
    assert completion.object == "chat.completion"
    assert "paddleboard" in completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_azure_reports_base_model_not_deployment(azure):
    completion = azure.chat.completions.create(model="planner-gpt-4o", messages=MESSAGES, max_tokens=8)
    assert completion.model == "gpt-4o-2024-08-06" != "planner-gpt-4o"
    assert completion.usage.completion_tokens <= 8
    assert completion.choices[0].finish_reason == "length"
    raw = completion.to_dict()
    assert raw["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    assert raw["choices"][0]["content_filter_results"]["violence"]["severity"] == "safe"


def test_rate_limit_raises_with_retry_after(sim, azure):
    sim.add_fault({"provider": "azure", "status": 429, "retryAfter": 3})
    with pytest.raises(openai.RateLimitError) as caught:
        azure.chat.completions.create(model="chat-gpt-4o-mini", messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "3"
    assert azure.chat.completions.create(model="chat-gpt-4o-mini", messages=MESSAGES).usage.total_tokens > 0


def test_server_error_raises_internal_server_error(sim, oai):
    sim.add_fault({"provider": "openai", "status": 500})
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def test_content_filter_is_a_bad_request_with_azure_code(sim, azure, oai):
    sim.add_fault({"provider": "azure", "contentFilter": True})
    with pytest.raises(openai.BadRequestError) as caught:
        azure.chat.completions.create(model="planner-gpt-4o", messages=MESSAGES)
    assert caught.value.code == "content_filter"
    assert caught.value.body["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    sim.add_fault({"provider": "openai", "contentFilter": True})
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.body["code"] == "content_policy_violation"


def test_delay_fault_makes_the_sdk_time_out(sim, oai):
    # The server holds the answer 30 s; a 0.2 s client timeout must give up long before (a margin no loaded CI
    # machine eats, unlike the 1 s bound this had); stopping the simulator wakes the held handler.
    sim.add_fault({"provider": "openai", "delayMs": 30_000})
    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, timeout=0.2)
    assert time.perf_counter() - started < 15
    assert oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).usage.total_tokens > 0


def test_wrong_key_raises_authentication_error(sim):
    for client in (
        OpenAI(base_url=sim.url + "/v1", api_key="wrong", max_retries=0),
        AzureOpenAI(azure_endpoint=sim.url, api_key="wrong", api_version="2024-10-21", max_retries=0),
    ):
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def test_faults_over_http_target_one_deployment(sim, azure):
    status, _ = control(sim, "POST", "/_sim/faults", {"provider": "azure", "status": 500, "model": "planner-gpt-4o"})
    assert status == 200
    azure.chat.completions.create(model="chat-gpt-4o-mini", messages=MESSAGES)
    with pytest.raises(openai.InternalServerError):
        azure.chat.completions.create(model="planner-gpt-4o", messages=MESSAGES)
    assert control(sim, "GET", "/_sim/faults") == (200, [])
    assert control(sim, "POST", "/_sim/faults", {"provider": "azure", "status": 999})[1]["error"]["field"] == "status"


def test_request_log_records_calls(sim, oai, azure):
    oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    sim.add_fault({"provider": "azure", "status": 429})
    with pytest.raises(openai.RateLimitError):
        azure.chat.completions.create(model="planner-gpt-4o", messages=MESSAGES)
    status, log = control(sim, "GET", "/_sim/requests")
    assert status == 200
    assert [(e["provider"], e["model"], e["status"]) for e in log] == [
        ("openai", "gpt-4o-mini", 200),
        ("azure", "planner-gpt-4o", 429),
    ]
    assert log[0]["promptTokens"] > 0 and log[0]["completionTokens"] > 0 and log[0]["at"].endswith("Z")
    assert log[1]["completionTokens"] == 0
    assert control(sim, "DELETE", "/_sim/requests")[0] == 200 and sim.requests() == []


def test_models_endpoints_answer_health_probes(oai, azure):
    assert "gpt-4o-mini" in [m.id for m in oai.models.list()]
    assert "gpt-4o-2024-08-06" in [m.id for m in azure.models.list()]


def test_sdk_calls_are_fast_at_zero_latency(oai):
    oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    samples = []
    for _ in range(50):
        started = time.perf_counter()
        oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        samples.append((time.perf_counter() - started) * 1000)
    # A Nagle / delayed-ACK stall adds a fixed ~40 ms to every call whatever the load; the median of
    # a busy machine's calls stays far below that, so this catches the stall without timing the CPU.
    assert statistics.median(samples) < 30, sorted(samples)


def test_base_latency_applies_to_successful_calls():
    with ProviderSimulator(latency_ms=60) as slow:
        client = OpenAI(base_url=slow.url + "/v1", api_key=DEFAULT_KEYS["openai"], max_retries=0)
        started = time.perf_counter()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert time.perf_counter() - started >= 0.06


def test_runs_as_its_own_process():
    process = subprocess.Popen(
        [sys.executable, "-m", "local.provider_sim", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    try:
        url = process.stdout.readline().split()[-1]
        with urllib.request.urlopen(url + "/_sim/health", timeout=5) as response:
            assert json.loads(response.read()) == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()
