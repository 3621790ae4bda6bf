"""How a provider call can fail, classified by what the router should do about it.

``ProviderFailure`` subclasses are the provider's trouble (retry, then fall back) and are what
the circuit breaker counts. ``ProviderRefusal`` subclasses are answers: the provider is up but
would not serve this request, so for the breaker they are successes. ``ContentFiltered`` and
``ProviderAuthError`` fall back without retrying; ``ProviderRejectedRequest`` is the caller's
error and goes back to them as a 400.
"""

from __future__ import annotations

from shared.routing.types import Usage


class ProviderError(Exception):
    """Base class of every classified provider error; ``usage`` is what the provider billed (usually nothing)."""

    reason = "error"
    usage = Usage()

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ProviderFailure(ProviderError):
    """The provider is unhealthy for now: retried with backoff, counted by the circuit breaker."""


class ProviderServerError(ProviderFailure):
    """A 5xx answer."""

    reason = "server_error"


class ProviderTimeout(ProviderFailure):
    """No answer within the attempt's timeout."""

    reason = "timeout"


class ProviderUnreachable(ProviderFailure):
    """The connection failed before any answer."""

    reason = "unreachable"


class ProviderRateLimited(ProviderFailure):
    """A 429; ``retry_after_s`` is what the provider asked us to wait, when it said."""

    reason = "rate_limited"

    def __init__(self, message: str, retry_after_s: float | None, status: int | None = 429) -> None:
        super().__init__(message, status)
        self.retry_after_s = retry_after_s


class ProviderRefusal(ProviderError):
    """The provider answered and refused this request: it is reachable, whatever it thought of the request."""


class ContentFiltered(ProviderRefusal):
    """A content-policy refusal: another provider may accept the same request.

    A prompt refused up front (a 400) bills nothing. A completion filtered on its output (a 200 with
    ``finish_reason: content_filter``) was generated and is billed: ``usage`` carries what the
    provider reported, so the attempt is recorded as billed spend before the router falls back.
    """

    reason = "content_filter"

    def __init__(self, message: str, status: int | None = None, usage: Usage | None = None) -> None:
        super().__init__(message, status)
        self.usage = usage or Usage()


class ProviderAuthError(ProviderRefusal):
    """Our key was refused (401/403): a configuration problem, so the next candidate serves.

    A refusal, not a failure: the provider is up, and counting it would dress our misconfiguration
    up as an outage, then keep the fixed key waiting out a recovery window.
    """

    reason = "auth_error"


class ProviderRejectedRequest(ProviderRefusal):
    """The provider judged the request itself invalid (400): no other provider would do better."""

    reason = "bad_request"
