"""Slack incoming webhooks: which URLs a rule may name, how they are shown, and posting one message.

The URL is the credential (whoever holds it can post to the channel), so it is stored in the rule's item
(the costs table, encrypted at rest by its KMS key) and nowhere else: answers and the alert history show
:func:`mask_webhook_url`'s form, and every error raised here names the masked form only (``urllib``'s own
exceptions are not chained, since their attributes carry the full URL).

Accepted: ``https://hooks.slack.com/services/<id>/<id>/<token>`` exactly (the whole string matched: no
user info, no port, no query or fragment, no other host such as ``hooks.slack.com.evil.com``), and, when
``SLACK_WEBHOOK_LOCAL_BASE`` is set (the local stack sets it to its own ``/_sim/slack/services/``), URLs
under that base.

Posting (:class:`SlackWebhookPoster`): one JSON body, at most ``max_attempts`` tries within one deadline.
A 429 waits its ``Retry-After`` when that fits the deadline and ``retry_after_max_s``, a 5xx or a lost
connection backs off (:class:`~shared.core.retry.RetryPolicy`); any other 4xx (a revoked webhook answers
404 ``no_service``) is final at once. Metrics: ``SlackPostsSent``, ``SlackPostsRetried`` (one per retry)
and ``SlackPostsFailed``.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from shared.core.observability import metrics
from shared.core.retry import MIN_ATTEMPT_S, RetryPolicy, retry_after_s
from shared.routing.deadline import Deadline

SLACK_WEBHOOK_BASE = "https://hooks.slack.com/services/"
MAX_WEBHOOK_URL_LENGTH = 512
_ID = r"[A-Za-z0-9_-]{1,64}"
_SLACK_WEBHOOK = re.compile(re.escape(SLACK_WEBHOOK_BASE) + rf"{_ID}/{_ID}/{_ID}")
_LOCAL_PATH = re.compile(rf"{_ID}(/{_ID}){{0,2}}")
MASK = "…"
VISIBLE_TAIL = 4


def webhook_url_problem(url: str, local_base: str = "") -> str | None:
    """Why ``url`` is not a webhook a rule may name, or None when it is (the message never repeats the URL)."""
    if len(url) > MAX_WEBHOOK_URL_LENGTH:
        return f"at most {MAX_WEBHOOK_URL_LENGTH} characters"
    if _SLACK_WEBHOOK.fullmatch(url):
        return None
    if local_base and url.startswith(local_base) and _LOCAL_PATH.fullmatch(url[len(local_base) :]):
        return None
    return f"a Slack incoming webhook: {SLACK_WEBHOOK_BASE}<team>/<channel>/<token> (https, that host only)"


def mask_webhook_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0…/…/…WXYZ``: everything up to ``/services/``, two characters of the
    workspace id and the token's last four (each only when at least as much stays hidden); ``…`` for
    anything else."""
    cut = url.find("/services/")
    if cut < 0:
        return MASK
    base, rest = url[: cut + len("/services/")], url[cut + len("/services/") :]
    *ids, token = rest.split("/")
    tail = token[-VISIBLE_TAIL:] if len(token) >= 2 * VISIBLE_TAIL else ""
    masked_ids = [(ids[0][:2] if len(ids[0]) >= 4 else "") + MASK, *[MASK] * (len(ids) - 1)] if ids else []
    return base + "/".join([*masked_ids, MASK + tail])


class SlackPostError(Exception):
    """The message did not reach Slack; the text names the masked URL, the last answer and the attempts."""


class WebhookTransport(Protocol):
    """One HTTP POST of a JSON body: the status and the response headers (a lost connection raises OSError)."""

    def post(self, url: str, body: bytes, timeout_s: float) -> tuple[int, Mapping[str, str]]: ...


class UrllibTransport:
    """:class:`WebhookTransport` over the standard library (no redirects followed: Slack answers directly)."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect)

    def post(self, url: str, body: bytes, timeout_s: float) -> tuple[int, Mapping[str, str]]:
        """POST ``body`` as JSON; an HTTP error status is returned, not raised."""
        request = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/json"})
        try:
            with self._opener.open(request, timeout=timeout_s) as response:
                response.read()
                return response.status, response.headers
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SlackWebhookPoster:
    """Posts one message to a webhook, retrying within ``deadline_s`` (see the module docstring)."""

    def __init__(
        self,
        policy: RetryPolicy,
        deadline_s: float,
        transport: WebhookTransport | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._policy = policy
        self._deadline_s = deadline_s
        self._transport = transport or UrllibTransport()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng

    def post(self, webhook_url: str, message: Mapping[str, Any]) -> int:
        """The attempts it took; :class:`SlackPostError` when every one allowed failed."""
        deadline = Deadline(self._deadline_s, self._clock)
        body = json.dumps(message, separators=(",", ":")).encode()
        attempt, answer = 0, "no attempt: no time left"
        while attempt < self._policy.max_attempts:
            timeout_s = min(self._policy.attempt_timeout_s, deadline.remaining())
            if timeout_s < MIN_ATTEMPT_S:
                break
            attempt += 1
            try:
                status, headers = self._transport.post(webhook_url, body, timeout_s)
            except OSError as exc:  # refused, reset, timed out: worth another try
                status, headers, answer = None, {}, f"no answer ({type(exc).__name__})"
            else:
                answer = f"HTTP {status}"
            if status is not None and 200 <= status < 300:
                metrics.add_metric(name="SlackPostsSent", unit=MetricUnit.Count, value=1)
                return attempt
            if status is not None and status != 429 and status < 500:
                break  # the webhook is gone or the message refused: no retry can change that
            wait_s = self._wait_s(status, headers, attempt)
            if wait_s is None or attempt >= self._policy.max_attempts or wait_s + MIN_ATTEMPT_S > deadline.remaining():
                break
            metrics.add_metric(name="SlackPostsRetried", unit=MetricUnit.Count, value=1)
            self._sleep(wait_s)
        metrics.add_metric(name="SlackPostsFailed", unit=MetricUnit.Count, value=1)
        raise SlackPostError(f"Slack webhook {mask_webhook_url(webhook_url)}: {answer} after {attempt} attempt(s)")

    def _wait_s(self, status: int | None, headers: Mapping[str, str], attempt: int) -> float | None:
        """How long before the next attempt; None when Slack asks for longer than the policy allows."""
        if status == 429:
            asked = retry_after_s(headers)
            if asked is not None:
                return asked if asked <= self._policy.retry_after_max_s else None
        return self._policy.backoff_s(attempt, self._rng)
