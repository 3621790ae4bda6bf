"""Provider simulator without sockets: token counting, content, error shapes, fault queue, routing."""

import json

import pytest

from local import sim_protocol as proto
from local.provider_sim import DEFAULT_KEYS, ProviderSimulator
from local.sim_prompt_cache import PromptCache, prompt_units

OPENAI_AUTH = {"authorization": f"Bearer {DEFAULT_KEYS['openai']}"}
AZURE_AUTH = {"api-key": DEFAULT_KEYS["azure"]}
AZURE_CHAT = "/openai/deployments/{}/chat/completions?api-version=2024-10-21"


def chat_body(model="gpt-4o-mini", text="Write a caption for my sunset yoga photo", **params):
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}], **params}).encode()


def post_fault(sim, spec):
    reply = sim.handle("POST", "/_sim/faults", {}, json.dumps(spec).encode())
    return reply.status, reply.body


# ---- tokens ----


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("abc", 1), ("abcd", 1), ("abcde", 2), ("x" * 400, 100)])
def test_text_tokens_are_four_characters_each_rounded_up(text, tokens):
    assert proto.count_text_tokens(text) == tokens


def test_prompt_tokens_follow_the_cookbook_rule():
    messages = [{"role": "system", "content": "x" * 40}, {"role": "user", "content": "y" * 8, "name": "abcd"}]
    # per message 3 framing + 1 role + content; a name costs 1 + its tokens; 3 prime the reply
    assert proto.count_prompt_tokens(messages) == (3 + 1 + 10) + (3 + 1 + 2 + 1 + 1) + 3


def test_prompt_tokens_count_text_parts_and_images():
    parts = [{"type": "text", "text": "abcdefgh"}, {"type": "image_url", "image_url": {"url": "data:,"}}]
    assert proto.count_prompt_tokens([{"role": "user", "content": parts}]) == 3 + 1 + 2 + 85 + 3


# ---- content ----


def test_content_is_deterministic_and_on_topic():
    messages = [{"role": "user", "content": "Plan a week of posts about sourdough baking and kayaking"}]
    first, second = proto.generate_content(messages), proto.generate_content(messages)
    assert first == second
    assert "sourdough" in first[0] and "kayaking" in first[0]
    other = proto.generate_content([{"role": "user", "content": "Reply to a fan asking about my guitar"}])
    assert other[0] != first[0] and "guitar" in other[0]


@pytest.mark.parametrize("campaign_type", ["content_planning", "caption", "message_generation"])
def test_content_is_about_the_requests_theme_tone_and_audience(campaign_type):
    from shared.campaigns.models import CampaignData
    from shared.campaigns.prompts import build_messages

    data = CampaignData(theme="St. Tropez weekend", tone="cheeky", audience="young travellers", prompt="Be brief.")
    text, _ = proto.generate_content(build_messages(campaign_type, ["instagram"], data), max_tokens=400)
    assert "St. Tropez weekend" in text
    assert "Platforms" not in text and "Theme" not in text  # the labels are read, not echoed
    if campaign_type != "message_generation":
        assert "cheeky" in text
    if campaign_type == "content_planning":
        assert "young travellers" in text and "instagram" in text


def test_fan_message_text_is_about_the_theme_and_differs_per_theme():
    from shared.campaigns.models import CampaignData
    from shared.campaigns.prompts import fan_prompt

    def fan_text(theme):
        data = CampaignData(theme=theme, accountId="creator_01", recipients=["fan-1"])
        return proto.generate_content(fan_prompt(data, "fan-1"), max_tokens=400)[0]

    beach, yoga = fan_text("summer beach photoshoot"), fan_text("sunrise yoga retreat")
    assert "summer beach photoshoot" in beach.lower() and "sunrise yoga retreat" in yoga.lower()
    assert fan_text("summer beach photoshoot") == beach  # deterministic per request


def test_a_free_form_prompt_gives_its_subject():
    brief = proto.sim_text.read_brief("Platforms: tiktok. Write a launch plan for my new ceramics course. Thanks!")
    assert brief.platforms == "tiktok" and brief.subject == "launch plan for my new ceramics course"


@pytest.mark.parametrize("max_tokens", [1, 3, 7, 20, 50])
def test_content_respects_max_tokens(max_tokens):
    messages = [{"role": "user", "content": "Plan a content calendar for a fitness creator"}]
    text, finish = proto.generate_content(messages, max_tokens)
    assert 0 < proto.count_text_tokens(text) <= max_tokens
    assert finish == "length"


def test_content_defaults_to_about_120_tokens_and_stops():
    text, finish = proto.generate_content([{"role": "user", "content": "Plan a campaign strategy " * 20}])
    assert proto.count_text_tokens(text) <= proto.DEFAULT_MAX_TOKENS
    assert finish == "stop"


def test_json_mode_returns_json():
    completion = proto.chat_completion(
        "openai", "gpt-4o", [{"role": "user", "content": "plan"}], {"response_format": {"type": "json_object"}}
    )
    assert json.loads(completion["choices"][0]["message"]["content"])["type"] == "plan"


def test_completion_usage_is_consistent_with_content():
    messages = [{"role": "user", "content": "Write a caption for my cat"}]
    completion = proto.chat_completion("azure", "gpt-4o-2024-08-06", messages, {"n": 2})
    usage = completion["usage"]
    contents = [c["message"]["content"] for c in completion["choices"]]
    assert usage["completion_tokens"] == sum(proto.count_text_tokens(c) for c in contents)
    assert usage["prompt_tokens"] == proto.count_prompt_tokens(messages)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert completion["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False


@pytest.mark.parametrize(
    ("deployment", "model"),
    [
        ("planner-gpt-4o", "gpt-4o-2024-08-06"),
        ("chat-gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("something-else", "gpt-4o-2024-08-06"),
    ],
)
def test_azure_reports_a_versioned_base_model(deployment, model):
    assert proto.azure_model_for(deployment) == model


def test_error_shapes_match_each_provider():
    azure = proto.error_body("azure", "content_filter")["error"]
    assert azure["code"] == "content_filter" and azure["status"] == 400
    assert azure["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    assert azure["innererror"]["content_filter_result"]["hate"] == {"filtered": True, "severity": "high"}
    assert proto.error_body("openai", "content_filter")["error"]["code"] == "content_policy_violation"
    assert proto.error_body("openai", "auth")["error"]["code"] == "invalid_api_key"
    assert proto.error_body("azure", "auth")["error"]["code"] == "401"


# ---- fault specs and queue ----


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"status": 429}, "provider"),
        ({"provider": "bedrock", "status": 429}, "provider"),
        ({"provider": "azure", "status": 418}, "status"),
        ({"provider": "azure", "status": "429"}, "status"),
        ({"provider": "azure", "status": 429, "count": -1}, "count"),
        ({"provider": "azure", "status": 429, "count": True}, "count"),
        ({"provider": "azure", "delayMs": "fast"}, "delayMs"),
        ({"provider": "azure", "status": 429, "retryAfter": -2}, "retryAfter"),
        ({"provider": "azure", "contentFilter": "yes"}, "contentFilter"),
        ({"provider": "azure", "contentFilter": True, "status": 500}, "status"),
        ({"provider": "azure", "status": 429, "model": ""}, "model"),
        ({"provider": "azure", "status": 429, "delay_ms": 5}, "delay_ms"),
        ({"provider": "azure", "count": 2}, "status"),
        ([1, 2], "body"),
    ],
)
def test_invalid_fault_specs_name_the_field(spec, field):
    with pytest.raises(proto.FaultSpecError) as caught:
        proto.parse_fault(spec)
    assert caught.value.field == field
    status, body = post_fault(ProviderSimulator(), spec)
    assert status == 400 and body["error"]["field"] == field


def test_bad_json_control_body_is_a_400():
    reply = ProviderSimulator().handle("POST", "/_sim/faults", {}, b"{nope")
    assert reply.status == 400 and reply.body["error"]["field"] == "body"


def test_fault_applies_count_times_then_expires():
    queue = proto.FaultQueue()
    queue.add(proto.parse_fault({"provider": "openai", "status": 500, "count": 2}))
    assert [queue.take("openai", "gpt-4o") is not None for _ in range(3)] == [True, True, False]


def test_faults_queue_in_order_per_provider():
    queue = proto.FaultQueue()
    queue.add(proto.parse_fault({"provider": "azure", "status": 429}))
    queue.add(proto.parse_fault({"provider": "azure", "status": 500}))
    queue.add(proto.parse_fault({"provider": "openai", "status": 400}))
    assert queue.take("azure", "d").status == 429
    assert queue.take("openai", "m").status == 400
    assert queue.take("azure", "d").status == 500
    assert queue.take("azure", "d") is None


def test_model_targeted_fault_leaves_other_models_alone():
    queue = proto.FaultQueue()
    queue.add(proto.parse_fault({"provider": "azure", "status": 429, "model": "planner-gpt-4o"}))
    assert queue.take("azure", "chat-gpt-4o-mini") is None
    assert queue.take("openai", "planner-gpt-4o") is None
    assert queue.take("azure", "planner-gpt-4o").status == 429


def test_count_zero_clears_one_provider_or_one_model():
    queue = proto.FaultQueue()
    for spec in (
        {"provider": "azure", "status": 429, "model": "a"},
        {"provider": "azure", "status": 500, "model": "b"},
        {"provider": "openai", "status": 500, "count": 3},
    ):
        queue.add(proto.parse_fault(spec))
    queue.add(proto.parse_fault({"provider": "azure", "count": 0, "model": "a"}))
    assert [(f["provider"], f["model"]) for f in queue.pending()] == [("azure", "b"), ("openai", None)]
    queue.add(proto.parse_fault({"provider": "azure", "count": 0}))
    assert queue.pending() == [proto.parse_fault({"provider": "openai", "status": 500, "count": 3}).as_json()]


def test_control_routes_list_and_reset():
    sim = ProviderSimulator()
    assert post_fault(sim, {"provider": "openai", "status": 429, "count": 2, "retryAfter": 0.5})[0] == 200
    listed = sim.handle("GET", "/_sim/faults", {}, b"").body
    assert listed == [
        {
            "provider": "openai",
            "count": 2,
            "status": 429,
            "contentFilter": False,
            "delayMs": 0,
            "retryAfter": 0.5,
            "model": None,
        }
    ]
    sim.handle("POST", "/v1/chat/completions", OPENAI_AUTH, chat_body())
    assert sim.handle("POST", "/_sim/reset", {}, b"").status == 200
    assert sim.requests() == [] and sim.handle("GET", "/_sim/faults", {}, b"").body == []
    assert sim.handle("GET", "/_sim/health", {}, b"").body == {"status": "ok"}


# ---- routing and auth, in-process ----


def test_rate_limit_fault_carries_retry_after_headers():
    sim = ProviderSimulator()
    sim.add_fault({"provider": "azure", "status": 429, "retryAfter": 2})
    reply = sim.handle("POST", AZURE_CHAT.format("planner-gpt-4o"), AZURE_AUTH, chat_body())
    assert reply.status == 429
    assert reply.headers["Retry-After"] == "2" and reply.headers["retry-after-ms"] == "2000"
    assert reply.headers["x-ratelimit-remaining-requests"] == "0"


def test_wrong_key_is_401_and_logged():
    sim = ProviderSimulator(keys={"openai": "other"})
    reply = sim.handle("POST", "/v1/chat/completions", OPENAI_AUTH, chat_body())
    assert reply.status == 401 and reply.body["error"]["code"] == "invalid_api_key"
    assert sim.requests()[0]["status"] == 401
    azure_bearer = {"authorization": f"Bearer {DEFAULT_KEYS['azure']}"}
    assert sim.handle("POST", AZURE_CHAT.format("d"), azure_bearer, chat_body()).status == 200


def test_unknown_paths_and_bad_requests():
    sim = ProviderSimulator()
    assert sim.handle("GET", "/nope", {}, b"").status == 404
    assert sim.handle("GET", "/v1/chat/completions", OPENAI_AUTH, b"").status == 405
    bad = sim.handle("POST", "/v1/chat/completions", OPENAI_AUTH, chat_body(max_tokens=0))
    assert bad.status == 400 and bad.body["error"]["param"] == "max_tokens"
    no_version = sim.handle("POST", "/openai/deployments/d/chat/completions", AZURE_AUTH, chat_body())
    assert no_version.status == 400


def test_the_gateway_simulator_echoes_its_faults_in_the_camel_case_they_are_posted_in():
    from local.gateway_sim import GatewaySimulator, parse_fault

    gateway = GatewaySimulator()
    try:
        spec = {"status": 503, "count": 2, "recipientId": "fan-7", "delayMs": 5}
        gateway.add_fault(parse_fault(spec))
        assert gateway.faults() == [spec]
    finally:
        gateway.stop()


# ---- prompt caching and output filtering ----


def long_messages(words: int = 1100, tail: str = "") -> list[dict]:
    """A shared system prompt of ``words`` 4-character units, then a short user turn."""
    return [{"role": "system", "content": "abc " * words}, {"role": "user", "content": f"Hello {tail}"}]


def test_a_prompt_is_cut_into_exactly_the_tokens_it_is_counted_as():
    tools = [{"type": "function", "function": {"name": "lookup"}}]
    for messages in (
        long_messages(),
        [{"role": "user", "content": [{"type": "text", "text": "hey"}, {"type": "image_url"}], "name": "ann"}],
    ):
        assert len(list(prompt_units(messages, tools))) == proto.count_prompt_tokens(messages, tools)


def test_cached_tokens_are_the_longest_shared_prefix_from_1024_in_steps_of_128():
    cache = PromptCache(clock=lambda: 0.0)
    first = long_messages(1100)  # (3 + 1 + 1,100) + (3 + 1 + 2) + 3 = 1,113 tokens
    assert proto.count_prompt_tokens(first) == 1_113
    assert cache.serve("openai", "gpt-4o-mini", first) == 0  # nothing served before
    assert cache.serve("openai", "gpt-4o-mini", first) == 1_024  # 1,113 rounds down to the 1,024 boundary
    longer = long_messages(1300, "again")  # shares its first 1,104 tokens with `first`, then differs
    assert cache.serve("openai", "gpt-4o-mini", longer) == 1_024
    assert cache.serve("openai", "gpt-4o-mini", longer) == 1_280  # its own 1,314 tokens: 1,024 + 2 x 128
    assert cache.serve("openai", "gpt-4o", first) == 0  # another model has its own cache
    assert cache.serve("azure", "gpt-4o-mini", first) == 0  # and another provider
    short = [{"role": "user", "content": "abc " * 200}]
    assert cache.serve("openai", "gpt-4o-mini", short) == cache.serve("openai", "gpt-4o-mini", short) == 0


def test_a_cached_prefix_lasts_ten_minutes_from_its_last_use():
    now = [0.0]
    cache = PromptCache(clock=lambda: now[0])
    messages = long_messages()
    cache.serve("openai", "gpt-4o-mini", messages)
    now[0] = 599.0
    assert cache.serve("openai", "gpt-4o-mini", messages) == 1_024  # and refreshed
    now[0] = 599.0 + 600.5
    assert cache.serve("openai", "gpt-4o-mini", messages) == 0


def test_the_simulator_reports_cached_tokens_in_the_usage_and_its_log():
    sim = ProviderSimulator()
    body = json.dumps({"model": "gpt-4o-mini", "messages": long_messages()}).encode()
    first = sim.handle("POST", "/v1/chat/completions", OPENAI_AUTH, body).body["usage"]
    second = sim.handle("POST", "/v1/chat/completions", OPENAI_AUTH, body).body["usage"]
    assert first["prompt_tokens"] == second["prompt_tokens"] == 1_113
    assert (first["prompt_tokens_details"]["cached_tokens"], second["prompt_tokens_details"]["cached_tokens"]) == (
        0,
        1_024,
    )
    assert second["completion_tokens_details"]["reasoning_tokens"] == 0
    assert [entry["cachedTokens"] for entry in sim.requests()] == [0, 1_024]
    sim.reset()
    assert sim.handle("POST", "/v1/chat/completions", OPENAI_AUTH, body).body["usage"]["prompt_tokens_details"] == {
        "cached_tokens": 0,
        "audio_tokens": 0,
    }


def test_an_output_filter_fault_is_a_billed_200_with_finish_reason_content_filter():
    sim = ProviderSimulator()
    assert post_fault(sim, {"provider": "azure", "contentFilter": "output"})[0] == 200
    assert sim.handle("GET", "/_sim/faults", {}, b"").body[0]["contentFilter"] == "output"
    reply = sim.handle("POST", AZURE_CHAT.format("chat-gpt-4o-mini"), AZURE_AUTH, chat_body())
    assert reply.status == 200
    (choice,) = reply.body["choices"]
    assert (choice["finish_reason"], choice["message"]["content"]) == ("content_filter", None)
    assert choice["content_filter_results"]["violence"] == {"filtered": True, "severity": "high"}
    assert reply.body["usage"]["prompt_tokens"] > 0 and reply.body["usage"]["completion_tokens"] > 0
    served = sim.handle("POST", AZURE_CHAT.format("chat-gpt-4o-mini"), AZURE_AUTH, chat_body()).body
    assert served["choices"][0]["finish_reason"] == "stop"  # the fault applied once


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ({"provider": "azure", "contentFilter": True}, "prompt"),
        ({"provider": "azure", "contentFilter": "prompt", "status": 400}, "prompt"),
        ({"provider": "openai", "contentFilter": "output"}, "output"),
        ({"provider": "openai", "contentFilter": False, "status": 500}, None),
    ],
)
def test_content_filter_kinds(spec, kind):
    assert proto.parse_fault(spec).content_filter == kind


def test_an_output_filter_with_a_status_is_refused():
    with pytest.raises(proto.FaultSpecError) as caught:
        proto.parse_fault({"provider": "azure", "contentFilter": "output", "status": 400})
    assert caught.value.field == "status"
