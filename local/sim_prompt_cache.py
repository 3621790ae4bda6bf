"""Prompt caching as OpenAI documents it, for the simulator: cached prefixes of 1,024 tokens and more.

OpenAI and Azure OpenAI cache prompt prefixes automatically: a request whose first 1,024 tokens
or more match a prompt served recently reports ``usage.prompt_tokens_details.cached_tokens``, the
longest matching prefix in steps of 128 tokens (1,024, 1,152, 1,280, ...), and bills those tokens
at the cheaper cached-input price. Here "recently" is 10 minutes since the prefix was last used
(OpenAI keeps them 5-10 minutes of inactivity, up to an hour off-peak).

The simulator counts tokens by the cookbook rule (:func:`local.sim_protocol.count_prompt_tokens`),
so a prompt is cut into exactly that many units, in the order a model reads them: per message
three framing units, the role, then its text four characters at a time (and its name, and 85 units
per image part), the tools' JSON, and three units priming the reply. Two prompts share a cached
prefix of N tokens when their first N units are equal; only the digests at the 128-token
boundaries are kept, per (provider, model), so the memory per prompt is a few dozen hashes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from local import sim_protocol as proto

CACHE_MIN_TOKENS = 1024
CACHE_STEP_TOKENS = 128
CACHE_TTL_S = 600.0
MAX_PREFIXES = 200_000  # bounded, so a long `make run` cannot grow without end (oldest dropped first)


def prompt_units(messages: list[dict[str, Any]], tools: object = None) -> Iterator[str]:
    """The prompt as the simulator's tokens, in reading order; as many as ``count_prompt_tokens`` counts."""
    if tools:
        yield from _chunks(json.dumps(tools, separators=(",", ":")))
    for message in messages:
        yield from ("\x00msg",) * proto.TOKENS_PER_MESSAGE
        yield f"\x00role:{message.get('role')}"
        if message.get("name"):
            yield "\x00name"
            yield from _chunks(str(message["name"]))
        text, extra = proto.content_text(message.get("content"))
        yield from _chunks(text)
        yield from ("\x00image",) * extra
    yield from ("\x00reply",) * proto.REPLY_PRIMING_TOKENS


def _chunks(text: str) -> Iterator[str]:
    for start in range(0, len(text), proto.CHARS_PER_TOKEN):
        yield text[start : start + proto.CHARS_PER_TOKEN]


def prefix_digests(messages: list[dict[str, Any]], tools: object = None) -> list[tuple[int, str]]:
    """(prefix length, digest) at every cacheable boundary of the prompt: 1,024 tokens, then every 128."""
    digest = hashlib.sha256()
    found: list[tuple[int, str]] = []
    for count, unit in enumerate(prompt_units(messages, tools), start=1):
        digest.update(unit.encode("utf-8", "surrogatepass") + b"\x1f")
        if count >= CACHE_MIN_TOKENS and (count - CACHE_MIN_TOKENS) % CACHE_STEP_TOKENS == 0:
            found.append((count, digest.hexdigest()))
    return found


class PromptCache:
    """Prefixes served in the last ``ttl_s`` seconds, per (provider, model); thread-safe."""

    def __init__(self, ttl_s: float = CACHE_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._expiry: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def serve(self, provider: str, model: str, messages: list[dict[str, Any]], tools: object = None) -> int:
        """The cached tokens of this request (the longest prefix still cached, 0 if none), then its own
        prefixes cached (or refreshed) for the next ``ttl_s`` seconds."""
        boundaries = prefix_digests(messages, tools)
        now = self._clock()
        with self._lock:
            cached = 0
            for length, digest in reversed(boundaries):
                expiry = self._expiry.get((provider, model, digest))
                if expiry is not None and expiry > now:
                    cached = length
                    break
            for _, digest in boundaries:
                key = (provider, model, digest)
                self._expiry[key] = now + self._ttl_s
                self._expiry.move_to_end(key)
            while len(self._expiry) > MAX_PREFIXES:
                self._expiry.popitem(last=False)
        return cached

    def clear(self) -> None:
        """Forget every prefix (between tests)."""
        with self._lock:
            self._expiry.clear()
