from decimal import Decimal

import pytest

from shared.core.pricing import PriceTable, UnpricedModelError, micros_to_usd
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS


@pytest.fixture
def prices() -> PriceTable:
    return PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)


def test_openai_cost_is_usage_times_price_in_micro_dollars(prices):
    # gpt-4o-mini: $0.15 in / $0.60 out per million tokens -> 0.15 and 0.60 micro-dollars per token.
    cost = prices.cost("openai", "gpt-4o-mini", input_tokens=1000, output_tokens=500)
    assert cost.micros == 150 + 300
    assert cost.total_tokens == 1500
    assert micros_to_usd(cost.micros) == Decimal("0.00045")


def test_azure_deployment_is_priced_as_its_mapped_base_model_with_azure_prices(prices):
    azure = prices.cost("azure", "planner-gpt-4o", input_tokens=1000, output_tokens=1000)
    openai = prices.cost("openai", "gpt-4o", input_tokens=1000, output_tokens=1000)
    assert azure.priced_model == "gpt-4o"
    assert azure.micros == 2750 + 11000
    assert openai.micros == 2500 + 10000


def test_rounding_is_half_up_once_per_call(prices):
    # 7 input tokens of gpt-4o-mini = 1.05 micro-dollars -> 1; 10 = 1.5 -> 2.
    assert prices.cost("openai", "gpt-4o-mini", 7, 0).micros == 1
    assert prices.cost("openai", "gpt-4o-mini", 10, 0).micros == 2


def test_unknown_deployment_or_model_is_a_loud_error_not_zero(prices):
    with pytest.raises(UnpricedModelError):
        prices.cost("azure", "gpt-4o", 10, 10)  # a base model name is not a deployment
    with pytest.raises(UnpricedModelError):
        prices.cost("openai", "gpt-9", 10, 10)


def test_overrides_replace_or_add_prices():
    table = PriceTable.load(
        DEFAULT_AZURE_DEPLOYMENTS,
        overrides={"openai": {"gpt-9": {"input": Decimal("1"), "output": Decimal("2")}}},
    )
    assert table.cost("openai", "gpt-9", 1_000_000, 1_000_000).micros == 3_000_000


def test_sum_of_many_small_calls_is_exact(prices):
    total = sum(prices.cost("openai", "gpt-4o-mini", 13, 7).micros for _ in range(10_000))
    assert total == 10_000 * prices.cost("openai", "gpt-4o-mini", 13, 7).micros
