"""The price table: what a call costs, in integer nano-dollars, from the usage the provider reports.

Providers bill tokens, not rounded calls. So a call is priced exactly, in nano-dollars (10⁻⁹ $):
a price of USD per million tokens times 1,000 is nano-dollars per token, and the table only
accepts prices with at most three decimals (a whole nano-dollar per token; every listed model
qualifies), so a call's cost is an integer with nothing rounded away. Totals are sums of those
integers, so a period's total is exactly the price of its tokens; micro-dollars and USD are for
display only, rounded half up once where a figure is shown (:func:`nanos_to_micros`).

Cached input tokens (OpenAI and Azure OpenAI cache prompt prefixes of 1,024 tokens and more
and report ``prompt_tokens_details.cached_tokens``) are part of the input count and billed at the
model's ``cachedInput`` price; a model without one bills them at its input price (logged once per
model, never silently cheaper). Reasoning tokens are part of the output count and never billed twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path

from shared.core.data import DATA_DIR
from shared.core.observability import logger

DEFAULT_PRICES_FILE = DATA_DIR / "prices.json"
MICROS_PER_USD = 1_000_000
NANOS_PER_MICRO = 1_000
NANOS_PER_USD = MICROS_PER_USD * NANOS_PER_MICRO
# USD per million tokens x 1,000 = nano-dollars per token.
_NANOS_PER_TOKEN_PER_USD_PER_MTOK = NANOS_PER_USD // 1_000_000
PRICE_FIELDS = ("input", "output", "cachedInput")


class UnpricedModelError(LookupError):
    """A model (or Azure deployment) has no price: a configuration error that must never cost $0 silently."""

    def __init__(self, provider: str, model: str) -> None:
        super().__init__(f"no price for provider={provider!r} model={model!r}; add it to the price table")
        self.provider = provider
        self.model = model


@dataclass(frozen=True)
class ModelPrice:
    """USD per million input, output and cached input tokens (``None``: cached input bills as input)."""

    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    cached_input_usd_per_mtok: Decimal | None = None


@dataclass(frozen=True)
class CallCost:
    """The priced usage of one provider call (or of several added up); ``nanos`` is exact.

    ``input_tokens`` includes ``cached_tokens`` and ``output_tokens`` includes ``reasoning_tokens``,
    as the providers report them.
    """

    priced_model: str
    input_tokens: int
    output_tokens: int
    nanos: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def micros(self) -> int:
        """The cost in whole micro-dollars, rounded half up: for display, never for summing."""
        return nanos_to_micros(self.nanos)


def added_up(costs: Iterable[CallCost], priced_model: str) -> CallCost:
    """Several calls' costs as one (exact: nanos and tokens are summed), labelled ``priced_model``."""
    costs = list(costs)
    return CallCost(
        priced_model,
        sum(c.input_tokens for c in costs),
        sum(c.output_tokens for c in costs),
        sum(c.nanos for c in costs),
        sum(c.cached_tokens for c in costs),
        sum(c.reasoning_tokens for c in costs),
    )


def nanos_to_micros(nanos: int) -> int:
    """Whole micro-dollars of a nano-dollar amount, rounded half up (the one rounding, where a figure is shown)."""
    return int((Decimal(nanos) / NANOS_PER_MICRO).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def nanos_to_micros_ceiling(nanos: int) -> int:
    """Whole micro-dollars, rounded up: what a budget holds or commits, so rounding never lets it pass a cap."""
    return int((Decimal(nanos) / NANOS_PER_MICRO).to_integral_value(rounding=ROUND_CEILING))


def micros_to_usd(micros: int) -> Decimal:
    """Exact USD amount of an integer micro-dollar figure."""
    return Decimal(micros) / MICROS_PER_USD


def usd_amount(micros: int) -> float:
    """A micro-dollar figure as the USD number answers carry (the API writes it without exponent)."""
    return float(micros_to_usd(micros))


def _nanos_per_token(usd_per_mtok: Decimal, where: str) -> int:
    """A price as whole nano-dollars per token; anything finer (or negative) is refused at load."""
    nanos = usd_per_mtok * _NANOS_PER_TOKEN_PER_USD_PER_MTOK
    if nanos < 0 or nanos != nanos.to_integral_value():
        raise ValueError(f"{where}: {usd_per_mtok} USD per million tokens is not a whole nano-dollar per token")
    return int(nanos)


def usd_to_micros(usd: Decimal) -> int:
    """A USD amount in whole micro-dollars, half up (``0.0000005`` is one micro-dollar)."""
    return int((usd * MICROS_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_usd(micros: int, *, cents_from_a_dollar: bool = False) -> str:
    """``$51.20``, for people; sub-cent amounts keep their digits (``$0.0032``, ``$1.504125``) rather than
    reading as ``$0.00``, so what is shown is exact to the micro-dollar. ``cents_from_a_dollar`` rounds
    amounts of a dollar or more to the cent (``$16.45``): for estimates, where more digits are noise."""
    amount = micros_to_usd(micros)
    whole_cents = micros % 10_000 == 0 or (cents_from_a_dollar and abs(micros) >= MICROS_PER_USD)
    text = f"{amount:,.2f}" if whole_cents else f"{amount:,.6f}".rstrip("0")
    return f"${text}"


class PriceTable:
    """Prices by (provider, base model), plus the explicit Azure deployment → base model map."""

    def __init__(self, prices: Mapping[str, Mapping[str, ModelPrice]], azure_deployments: Mapping[str, str]) -> None:
        self._azure_deployments = dict(azure_deployments)
        # (input, output, cached input or None) in nano-dollars per token, validated once.
        self._nanos: dict[str, dict[str, tuple[int, int, int | None]]] = {}
        for provider, models in prices.items():
            for model, price in models.items():
                where = f"price of {provider}/{model}"
                cached = price.cached_input_usd_per_mtok
                self._nanos.setdefault(provider, {})[model] = (
                    _nanos_per_token(price.input_usd_per_mtok, where),
                    _nanos_per_token(price.output_usd_per_mtok, where),
                    None if cached is None else _nanos_per_token(cached, where),
                )
        self._uncached_warned: set[tuple[str, str]] = set()
        self._warn_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        azure_deployments: Mapping[str, str],
        overrides: Mapping[str, Mapping[str, Mapping[str, Decimal]]] | None = None,
        path: Path = DEFAULT_PRICES_FILE,
    ) -> PriceTable:
        """Read the shipped price file and apply configuration overrides on top, field by field.

        An override may set any of ``input``, ``output``, ``cachedInput`` of a model; the fields it
        leaves out keep the file's values (a new model needs ``input`` and ``output``).
        """
        raw = json.loads(path.read_text())
        raw.pop("_comment", None)
        for provider, models in (overrides or {}).items():
            for model, fields in models.items():
                unknown = set(fields) - set(PRICE_FIELDS)
                if unknown:
                    raise ValueError(f"price override {provider}/{model}: unknown fields {sorted(unknown)}")
                raw.setdefault(provider, {}).setdefault(model, {}).update(fields)
        prices = {
            provider: {
                model: ModelPrice(
                    Decimal(str(entry["input"])),
                    Decimal(str(entry["output"])),
                    Decimal(str(entry["cachedInput"])) if entry.get("cachedInput") is not None else None,
                )
                for model, entry in models.items()
            }
            for provider, models in raw.items()
        }
        return cls(prices, azure_deployments)

    def priced_model(self, provider: str, model: str) -> str:
        """The base model a call is priced as: an Azure deployment maps explicitly, never by its reported name."""
        base = self._azure_deployments.get(model) if provider == "azure" else model
        if base is None or base not in self._nanos.get(provider, {}):
            raise UnpricedModelError(provider, model)
        return base

    def cost(
        self,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
    ) -> CallCost:
        """Price one call (or exact token sums) from its reported usage, in exact nano-dollars.

        ``cached_tokens`` are the part of ``input_tokens`` read from the prompt cache; a count above
        the input (a provider's bug) is capped at it, so a cached token is never billed twice.
        """
        priced_model = self.priced_model(provider, model)
        input_nanos, output_nanos, cached_nanos = self._nanos[provider][priced_model]
        cached_tokens = min(max(cached_tokens, 0), input_tokens)
        if cached_nanos is None:
            cached_nanos = input_nanos
            if cached_tokens:
                self._warn_uncached(provider, priced_model)
        nanos = (input_tokens - cached_tokens) * input_nanos + cached_tokens * cached_nanos
        nanos += output_tokens * output_nanos
        return CallCost(priced_model, input_tokens, output_tokens, nanos, cached_tokens, reasoning_tokens)

    def _warn_uncached(self, provider: str, priced_model: str) -> None:
        """Say once per container and model that its cached tokens are billed at the full input price."""
        with self._warn_lock:
            if (provider, priced_model) in self._uncached_warned:
                return
            self._uncached_warned.add((provider, priced_model))
        logger.warning(
            "no cached-input price: cached tokens billed at the input price",
            extra={"provider": provider, "priced_model": priced_model},
        )
