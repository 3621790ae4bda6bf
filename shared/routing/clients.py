"""Chat providers on the ``openai`` SDK: ``OpenAI`` for OpenAI, ``AzureOpenAI`` for Azure OpenAI.

The SDK's own retries are switched off (``max_retries=0``): the router owns retries, so the
breaker sees every failure and the deadline bounds every wait. This module is the only one that
imports ``openai``, so handlers that call no provider never pay for it at cold start.
"""

from __future__ import annotations

from collections.abc import Sequence

import openai
from openai.types import CompletionUsage

from shared.core.retry import retry_after_s
from shared.routing.errors import (
    ContentFiltered,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejectedRequest,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
)
from shared.routing.types import ChatMessage, Completion, Usage

CONTENT_FILTER_CODES = {"content_filter", "content_policy_violation"}


class OpenAIChatProvider:
    """One provider behind an SDK client, answering with a :class:`Completion` or a classified error."""

    def __init__(self, name: str, client: openai.OpenAI) -> None:
        self.name = name
        self._client = client

    def complete(self, model: str, messages: Sequence[ChatMessage], *, timeout_s: float, max_tokens: int) -> Completion:
        """One attempt, no retries: ``model`` is the OpenAI model or the Azure deployment name."""
        try:
            response = self._client.chat.completions.create(
                model=model,
                messages=list(messages),
                max_tokens=max_tokens,
                timeout=timeout_s,
            )
        except openai.APIError as exc:
            raise classify(exc) from exc
        choice = response.choices[0]
        usage = reported_usage(response.usage)
        if choice.finish_reason == "content_filter":  # generated, then withheld: billed all the same
            raise ContentFiltered(f"{self.name} filtered the completion", status=200, usage=usage)
        return Completion(
            content=choice.message.content or "",
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            reported_model=response.model,
            cached_tokens=usage.cached_tokens,
            reasoning_tokens=usage.reasoning_tokens,
        )


def reported_usage(usage: CompletionUsage | None) -> Usage:
    """The token counts of a response's ``usage``, with the cached prompt tokens and the reasoning tokens
    where the provider gives them (``prompt_tokens_details``, ``completion_tokens_details``)."""
    if usage is None:
        return Usage()
    prompt_details, completion_details = usage.prompt_tokens_details, usage.completion_tokens_details
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        cached_tokens=(prompt_details.cached_tokens or 0) if prompt_details else 0,
        reasoning_tokens=(completion_details.reasoning_tokens or 0) if completion_details else 0,
    )


def classify(exc: openai.APIError) -> ProviderError:
    """Map an SDK error to what the router does about it."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout(str(exc))
    if isinstance(exc, openai.APIConnectionError):
        return ProviderUnreachable(str(exc))
    if not isinstance(exc, openai.APIStatusError):
        return ProviderServerError(str(exc))
    status = exc.status_code
    if status == 429:
        return ProviderRateLimited(str(exc), retry_after_s=retry_after_s(exc.response.headers))
    if status >= 500:
        return ProviderServerError(str(exc), status)
    if status in (401, 403):
        return ProviderAuthError(str(exc), status)
    if _error_code(exc.body) in CONTENT_FILTER_CODES:
        return ContentFiltered(str(exc), status)
    return ProviderRejectedRequest(str(exc), status)


def _error_code(body: object) -> str | None:
    """The ``code`` of an error body, which the SDK hands over either whole or already unwrapped."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            code = inner.get("code")
            return str(code) if code is not None else None
    return None


def build_openai_provider(api_key: str, base_url: str | None) -> OpenAIChatProvider:
    """The OpenAI provider; ``base_url`` points at the simulator locally, the public API otherwise."""
    return OpenAIChatProvider("openai", openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0))


def build_azure_provider(api_key: str, endpoint: str, api_version: str) -> OpenAIChatProvider:
    """The Azure OpenAI provider; models are addressed by deployment name."""
    client = openai.AzureOpenAI(api_key=api_key, azure_endpoint=endpoint, api_version=api_version, max_retries=0)
    return OpenAIChatProvider("azure", client)
