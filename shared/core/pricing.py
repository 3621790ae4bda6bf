"""The price table: what a call costs, in integer micro-dollars, from the usage the provider reports.

Money never touches a float here: prices are Decimals (USD per million tokens, which is exactly
micro-dollars per token), each call is rounded once, half up, to a whole micro-dollar, and
totals are sums of integers, so they are exact however many calls are added up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from shared.core.data import DATA_DIR

DEFAULT_PRICES_FILE = DATA_DIR / "prices.json"
MICROS_PER_USD = 1_000_000


class UnpricedModelError(LookupError):
    """A model (or Azure deployment) has no price: a configuration error that must never cost $0 silently."""

    def __init__(self, provider: str, model: str) -> None:
        super().__init__(f"no price for provider={provider!r} model={model!r}; add it to the price table")
        self.provider = provider
        self.model = model


@dataclass(frozen=True)
class ModelPrice:
    """USD per million input and output tokens."""

    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal


@dataclass(frozen=True)
class CallCost:
    """The priced usage of one provider call."""

    priced_model: str
    input_tokens: int
    output_tokens: int
    micros: int

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


def micros_to_usd(micros: int) -> Decimal:
    """Exact USD amount of an integer micro-dollar figure."""
    return Decimal(micros) / MICROS_PER_USD


def usd_amount(micros: int) -> float:
    """A micro-dollar figure as the USD number answers carry (the API writes it without exponent)."""
    return float(micros_to_usd(micros))


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
        self._prices = {provider: dict(models) for provider, models in prices.items()}
        self._azure_deployments = dict(azure_deployments)

    @classmethod
    def load(
        cls,
        azure_deployments: Mapping[str, str],
        overrides: Mapping[str, Mapping[str, Mapping[str, Decimal]]] | None = None,
        path: Path = DEFAULT_PRICES_FILE,
    ) -> PriceTable:
        """Read the shipped price file and apply configuration overrides on top."""
        raw = json.loads(path.read_text())
        raw.pop("_comment", None)
        for provider, models in (overrides or {}).items():
            raw.setdefault(provider, {}).update(models)
        prices = {
            provider: {
                model: ModelPrice(Decimal(str(entry["input"])), Decimal(str(entry["output"])))
                for model, entry in models.items()
            }
            for provider, models in raw.items()
        }
        return cls(prices, azure_deployments)

    def priced_model(self, provider: str, model: str) -> str:
        """The base model a call is priced as: an Azure deployment maps explicitly, never by its reported name."""
        base = self._azure_deployments.get(model) if provider == "azure" else model
        if base is None or base not in self._prices.get(provider, {}):
            raise UnpricedModelError(provider, model)
        return base

    def cost(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> CallCost:
        """Price one call from its reported usage."""
        priced_model = self.priced_model(provider, model)
        price = self._prices[provider][priced_model]
        exact = input_tokens * price.input_usd_per_mtok + output_tokens * price.output_usd_per_mtok
        micros = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return CallCost(priced_model, input_tokens, output_tokens, micros)
