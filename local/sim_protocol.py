"""Wire shapes of the OpenAI and Azure OpenAI chat-completions APIs, as pure functions.

Kept apart from the HTTP server so unit tests can check token counting, generated content, error
bodies and fault-queue semantics without a socket, and so the shapes stay in one place when the
providers change. Longer than ~300 lines on purpose: it is the whole socket-free half of the simulator.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from local import sim_text

PROVIDERS = ("openai", "azure")

# Token approximation from OpenAI's cookbook ("How to count tokens"): about 4 characters per token
# of English text, 3 tokens of framing per message and 3 priming the reply. Roles are one token
# each in every real tokenizer, so they count as 1 rather than by length. No tiktoken: its
# vocabulary files are downloaded at first use, and the simulator must work offline.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3
IMAGE_PART_TOKENS = 85  # a low-detail image part, as priced by OpenAI
DEFAULT_MAX_TOKENS = 120

# What Azure reports in `model` for a deployment: the base model plus a version suffix, never the
# deployment name, so the product is forced to price from its own deployment map.
AZURE_MODEL_VERSIONS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-35-turbo": "gpt-35-turbo-0125",
}
AZURE_DEFAULT_MODEL = "gpt-4o-2024-08-06"
OPENAI_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini")

_SAFE = {"filtered": False, "severity": "safe"}


def count_text_tokens(text: str) -> int:
    """Approximate tokens of a text: ceil(characters / 4), 0 for empty text."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def content_text(content: object) -> tuple[str, int]:
    """Text of a message's content (a string or a list of parts) and the tokens of non-text parts."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return "", 0
    texts, extra = [], 0
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif isinstance(part, dict) and part.get("type") == "image_url":
            extra += IMAGE_PART_TOKENS
    return " ".join(texts), extra


def count_prompt_tokens(messages: list[dict[str, Any]], tools: object = None) -> int:
    """Prompt tokens by the cookbook rule: 3 per message + role + content (+ name) + 3 for priming."""
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        text, extra = content_text(message.get("content"))
        total += TOKENS_PER_MESSAGE + 1 + count_text_tokens(text) + extra
        if message.get("name"):
            total += TOKENS_PER_NAME + count_text_tokens(str(message["name"]))
    if tools:
        total += count_text_tokens(json.dumps(tools, separators=(",", ":")))
    return total


def _intent(text: str) -> str:
    lowered = text.lower()
    if re.search(r"\b(plan|planning|calendar|strategy|schedule|week)\b", lowered):
        return "plan"
    if re.search(r"\bcaptions?\b", lowered):
        return "caption"
    return "message"


def _truncate(text: str, max_tokens: int) -> tuple[str, bool]:
    """Cut text to at most max_tokens by the 4-character rule, at a word boundary when possible."""
    limit = max_tokens * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(), True


def generate_content(
    messages: list[dict[str, Any]], max_tokens: int | None = None, json_mode: bool = False, index: int = 0
) -> tuple[str, str]:
    """Deterministic reply text about the conversation's request, and its finish_reason ("stop" or "length")."""
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), messages[-1] if messages else {})
    user_text, _ = content_text(last_user.get("content"))
    all_text = " ".join(content_text(m.get("content"))[0] for m in messages)
    digest = hashlib.sha256(f"{index}\n{all_text}".encode()).digest()
    intent = _intent(all_text)
    lines = sim_text.compose(intent, sim_text.read_brief(user_text or all_text), digest[0])
    text = json.dumps({"type": intent, "summary": lines[0], "items": lines[1:]}) if json_mode else "\n".join(lines)
    text, cut = _truncate(text, max_tokens or DEFAULT_MAX_TOKENS)
    return text, "length" if cut and max_tokens else "stop"


def azure_model_for(deployment: str) -> str:
    """The versioned base model Azure reports for a deployment (longest known name it contains)."""
    for base in sorted(AZURE_MODEL_VERSIONS, key=len, reverse=True):
        if base in deployment:
            return AZURE_MODEL_VERSIONS[base]
    return AZURE_DEFAULT_MODEL


def content_filter_results(filtered_category: str | None = None) -> dict[str, Any]:
    """Azure's per-category filter verdicts; one category high and filtered when a refusal is simulated."""
    results: dict[str, Any] = {name: dict(_SAFE) for name in ("hate", "self_harm", "sexual", "violence")}
    results["jailbreak"] = {"filtered": False, "detected": False}
    if filtered_category:
        results[filtered_category] = {"filtered": True, "severity": "high"}
    return results


def chat_completion(
    provider: str,
    model: str,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    *,
    cached_tokens: int = 0,
    filter_output: bool = False,
) -> dict[str, Any]:
    """A chat.completion object as the provider returns it; `model` is already what it reports.

    ``cached_tokens`` (from the prompt cache) goes into ``usage.prompt_tokens_details``. With
    ``filter_output`` the completion is generated, billed in ``usage``, and withheld: an HTTP 200
    whose choices have ``finish_reason: content_filter``, no content, and the filtering category
    flagged, as Azure OpenAI answers a completion its output filter stopped.
    """
    max_tokens = params.get("max_completion_tokens") or params.get("max_tokens")
    json_mode = (params.get("response_format") or {}).get("type") in ("json_object", "json_schema")
    choices, completion_tokens = [], 0
    for index in range(params.get("n") or 1):
        text, finish = generate_content(messages, max_tokens, json_mode, index)
        completion_tokens += count_text_tokens(text)
        choice: dict[str, Any] = {
            "index": index,
            "message": {"role": "assistant", "content": None if filter_output else text, "refusal": None},
            "logprobs": None,
            "finish_reason": "content_filter" if filter_output else finish,
        }
        if provider == "azure":
            choice["content_filter_results"] = content_filter_results("violence" if filter_output else None)
        choices.append(choice)
    prompt_tokens = count_prompt_tokens(messages, params.get("tools"))
    body: dict[str, Any] = {
        "id": "chatcmpl-" + uuid.uuid4().hex[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": min(cached_tokens, prompt_tokens), "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,  # the simulated models do not reason
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "system_fingerprint": "fp_" + hashlib.sha256(model.encode()).hexdigest()[:10],
    }
    if provider == "azure":
        body["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": content_filter_results()}]
    return body


def validate_chat_params(provider: str, body: object) -> tuple[str, str | None]:
    """Check a chat request body; returns ("", None) when valid, else (message, offending param)."""
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request.", None
    if provider == "openai" and (not isinstance(body.get("model"), str) or not body["model"]):
        return "you must provide a model parameter", "model"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array", "messages"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return f"'messages[{i}]' must be an object with a string 'role'", f"messages[{i}]"
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            return f"Invalid '{name}': expected an integer of at least 1", name
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 8):
        return "Invalid 'n': expected an integer from 1 to 8", "n"
    if body.get("stream"):
        return "The provider simulator does not stream; send stream=false", "stream"
    return "", None


_AZURE_FILTER_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
    "Please modify your prompt and retry. To learn more about our content filtering policies please read "
    "our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
_OPENAI_FILTER_MESSAGE = (
    "Your request was rejected as a result of our safety system. "
    "Your prompt may contain text that is not allowed by our safety system."
)
# kind -> (type, code, default message), as api.openai.com words them.
_OPENAI_ERRORS = {
    "auth": (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
    ),
    "rate_limit": ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    "server": ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    "invalid": ("invalid_request_error", None, "Invalid request."),
    "not_found": ("invalid_request_error", None, "Invalid URL."),
}
# kind -> (code, default message), as Azure OpenAI words them.
_AZURE_ERRORS = {
    "auth": (
        "401",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
        "for an active subscription and use a correct regional API endpoint for your resource.",
    ),
    "rate_limit": (
        "429",
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API have exceeded call rate limit "
        "of your current OpenAI S0 pricing tier. Please retry after the time in the Retry-After header.",
    ),
    "server": ("InternalServerError", "The server had an error while processing your request. Sorry about that!"),
    "invalid": ("BadRequest", "Invalid request."),
    "not_found": ("404", "Resource not found"),
}


def error_body(provider: str, kind: str, message: str = "", param: str | None = None) -> dict[str, Any]:
    """The provider's error JSON for one failure kind (auth, rate_limit, server, invalid, not_found,
    content_filter), so SDK exceptions carry the same `code` and `body` as against the real service."""
    if kind == "content_filter" and provider == "openai":
        return _openai_error(_OPENAI_FILTER_MESSAGE, "invalid_request_error", "prompt", "content_policy_violation")
    if kind == "content_filter":
        error: dict[str, Any] = {
            "message": _AZURE_FILTER_MESSAGE,
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": content_filter_results("hate"),
            },
        }
        return {"error": error}
    if provider == "openai":
        type_, code, default = _OPENAI_ERRORS[kind]
        return _openai_error(message or default, type_, param, code)
    code, default = _AZURE_ERRORS[kind]
    error = {"code": code, "message": message or default}
    if kind == "invalid":
        error.update({"type": "invalid_request_error", "param": param})
    return {"error": error}


def _openai_error(message: str, type_: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


# ---- Fault control (`POST /_sim/faults`) ----

FAULT_STATUSES = (400, 429, 500, 502, 503)
_FAULT_FIELDS = {"provider", "status", "count", "contentFilter", "delayMs", "retryAfter", "model"}


class FaultSpecError(ValueError):
    """A fault control body that cannot be queued; `field` names the offending field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class Fault:
    """One queued fault; `count` is how many more matching requests it still applies to.

    ``content_filter``: ``"prompt"`` refuses the request (400, nothing billed), ``"output"`` generates
    and bills the completion, then withholds it (200, ``finish_reason: content_filter``, with usage).
    """

    provider: str
    count: int = 1
    status: int | None = None
    content_filter: Literal["prompt", "output"] | None = None
    delay_ms: int = 0
    retry_after: float = 1
    model: str | None = None

    @property
    def refuses(self) -> bool:
        """True when the fault answers an error instead of a completion."""
        return self.content_filter == "prompt" or self.status is not None

    def as_json(self) -> dict[str, Any]:
        """The control-API spelling, as `GET /_sim/faults` lists it (a prompt filter is ``true``)."""
        statuses = {"prompt": 400, "output": 200}
        return {
            "provider": self.provider,
            "count": self.count,
            "status": statuses.get(self.content_filter or "", self.status),
            "contentFilter": {"prompt": True, "output": "output"}.get(self.content_filter or "", False),
            "delayMs": self.delay_ms,
            "retryAfter": self.retry_after,
            "model": self.model,
        }


def _number(spec: dict[str, Any], name: str, default: float, integer: bool = True, top: float = 600_000) -> Any:
    value = spec.get(name, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not 0 <= value <= top:
        kind = "an integer" if integer else "a number"
        raise FaultSpecError(name, f"must be {kind} from 0 to {top:g}")
    return value


def parse_fault(spec: object) -> Fault:
    """Validate a control body strictly (unknown fields too, so a typo never silently queues nothing)."""
    if not isinstance(spec, dict):
        raise FaultSpecError("body", "must be a JSON object")
    unknown = sorted(set(spec) - _FAULT_FIELDS)
    if unknown:
        raise FaultSpecError(unknown[0], f"unknown field; expected one of {sorted(_FAULT_FIELDS)}")
    if spec.get("provider") not in PROVIDERS:
        raise FaultSpecError("provider", "must be 'openai' or 'azure'")
    status = spec.get("status")
    if status is not None and (isinstance(status, bool) or status not in FAULT_STATUSES):
        raise FaultSpecError("status", f"must be one of {list(FAULT_STATUSES)}")
    content_filter = _filter_kind(spec.get("contentFilter", False))
    if content_filter == "prompt" and status not in (None, 400):
        raise FaultSpecError("status", "a content-filter refusal is always 400; omit status or send 400")
    if content_filter == "output" and status is not None:
        raise FaultSpecError("status", "an output-filtered completion is a 200; omit status")
    model = spec.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise FaultSpecError("model", "must be a non-empty string")
    fault = Fault(
        provider=spec["provider"],
        count=_number(spec, "count", 1, top=1_000_000),
        status=status,
        content_filter=content_filter,
        delay_ms=_number(spec, "delayMs", 0),
        retry_after=_number(spec, "retryAfter", 1, integer=False, top=3600),
        model=model,
    )
    if fault.count and status is None and not content_filter and not fault.delay_ms:
        raise FaultSpecError("status", "a fault needs status, contentFilter or delayMs")
    return fault


def _filter_kind(value: object) -> Literal["prompt", "output"] | None:
    """``contentFilter``: false, true or "prompt" (the request refused), or "output" (the completion withheld)."""
    if value is False:
        return None
    if value is True or value == "prompt":
        return "prompt"
    if value == "output":
        return "output"
    raise FaultSpecError("contentFilter", 'must be true, false, "prompt" or "output"')


class FaultQueue:
    """Faults in arrival order, per provider; each request consumes the first one that matches it."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        """Queue a fault, or with count 0 clear the provider's faults (only that model's, if given)."""
        with self._lock:
            if fault.count == 0:
                self._faults = [f for f in self._faults if not _covers(fault, f)]
            else:
                self._faults.append(fault)

    def clear(self, provider: str | None = None) -> None:
        """Drop every fault, or one provider's."""
        with self._lock:
            self._faults = [f for f in self._faults if provider is not None and f.provider != provider]

    def take(self, provider: str, model: str) -> Fault | None:
        """Consume one use of the first fault for this provider and model; None when nothing applies."""
        with self._lock:
            for fault in self._faults:
                if fault.provider == provider and fault.model in (None, model):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        """What is still queued, in order."""
        with self._lock:
            return [f.as_json() for f in self._faults]


def _covers(clearing: Fault, fault: Fault) -> bool:
    return fault.provider == clearing.provider and clearing.model in (None, fault.model)
