from decimal import Decimal

import pytest

from shared.core.pricing import (
    PriceTable,
    UnpricedModelError,
    added_up,
    micros_to_usd,
    nanos_to_micros,
    nanos_to_micros_ceiling,
)
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


def test_a_call_is_exact_in_nanos_and_only_its_display_is_rounded_half_up(prices):
    # 7 input tokens of gpt-4o-mini = 1.05 micro-dollars -> shown 1; 10 = 1.5 -> shown 2.
    assert (prices.cost("openai", "gpt-4o-mini", 7, 0).nanos, prices.cost("openai", "gpt-4o-mini", 7, 0).micros) == (
        1_050,
        1,
    )
    assert (prices.cost("openai", "gpt-4o-mini", 10, 0).nanos, prices.cost("openai", "gpt-4o-mini", 10, 0).micros) == (
        1_500,
        2,
    )


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


def test_sum_of_many_small_calls_is_the_price_of_their_tokens(prices):
    # 13 x 0.15 + 7 x 0.60 = 6.15 µ$ a call: 10,000 calls are 61,500 µ$, not 10,000 x 6 (rounded calls)
    total = sum(prices.cost("openai", "gpt-4o-mini", 13, 7).nanos for _ in range(10_000))
    assert nanos_to_micros(total) == 61_500 == prices.cost("openai", "gpt-4o-mini", 130_000, 70_000).micros


def test_seven_and_a_thousand_calls_of_ten_and_twenty_tokens_book_what_the_provider_bills(prices):
    # 10 x $0.15 + 20 x $0.60 per million = 13.5 µ$ a call, exactly 13,500 n$.
    call = prices.cost("openai", "gpt-4o-mini", 10, 20)
    assert (call.nanos, call.micros) == (13_500, 14)  # shown rounded; summed exact
    assert nanos_to_micros(7 * call.nanos) == 95 and 7 * call.nanos == 94_500  # not 7 x 14 = 98
    assert nanos_to_micros(sum(prices.cost("openai", "gpt-4o-mini", 10, 20).nanos for _ in range(1_000))) == 13_500


@pytest.mark.parametrize(
    ("provider", "model", "usage", "nanos"),
    [
        # prices.json x 1,000 = nano-dollars per token: (input, output, cached input)
        ("openai", "gpt-4o-mini", (2_000, 100, 0), 2_000 * 150 + 100 * 600),  # 360,000 n$
        ("openai", "gpt-4o-mini", (2_000, 100, 1_792), 208 * 150 + 1_792 * 75 + 100 * 600),  # 225,600 n$
        ("openai", "gpt-4o", (1_200, 50, 1_152), 48 * 2_500 + 1_152 * 1_250 + 50 * 10_000),  # 2,060,000 n$
        ("openai", "gpt-4.1", (1_024, 10, 1_024), 1_024 * 500 + 10 * 8_000),
        ("openai", "gpt-4.1-mini", (1_500, 10, 1_024), 476 * 400 + 1_024 * 100 + 10 * 1_600),
        ("azure", "planner-gpt-4o", (1_300, 200, 1_280), 20 * 2_750 + 1_280 * 1_375 + 200 * 11_000),
        ("azure", "chat-gpt-4o-mini", (1_100, 20, 1_024), 76 * 165 + 1_024 * 83 + 20 * 660),
    ],
)
def test_cached_and_uncached_input_priced_by_hand_from_the_price_file(prices, provider, model, usage, nanos):
    input_tokens, output_tokens, cached = usage
    cost = prices.cost(provider, model, input_tokens, output_tokens, cached_tokens=cached)
    assert cost.nanos == nanos
    assert cost.micros == (nanos + 500) // 1_000  # half up to the micro-dollar, for display
    assert (cost.input_tokens, cost.cached_tokens) == (input_tokens, cached)


def test_the_second_of_two_identical_long_prompts_costs_less_once_cached(prices):
    first = prices.cost("openai", "gpt-4o-mini", 1_100, 40)
    second = prices.cost("openai", "gpt-4o-mini", 1_100, 40, cached_tokens=1_024)
    assert first.nanos - second.nanos == 1_024 * (150 - 75)


def test_reasoning_tokens_are_reported_but_inside_the_output_count_billed_once(prices):
    with_reasoning = prices.cost("openai", "gpt-4o", 100, 300, reasoning_tokens=250)
    assert with_reasoning.nanos == prices.cost("openai", "gpt-4o", 100, 300).nanos == 100 * 2_500 + 300 * 10_000
    assert with_reasoning.reasoning_tokens == 250


def test_a_model_without_a_cached_price_bills_cached_tokens_at_the_input_price_and_says_so_once(caplog):
    table = PriceTable.load(
        DEFAULT_AZURE_DEPLOYMENTS, overrides={"openai": {"gpt-9": {"input": Decimal("1"), "output": Decimal("2")}}}
    )
    assert table.cost("openai", "gpt-9", 2_000, 0, cached_tokens=1_024).nanos == 2_000 * 1_000
    table.cost("openai", "gpt-9", 3_000, 0, cached_tokens=2_048)
    table.cost("openai", "gpt-9", 500, 0)  # nothing cached: nothing to say
    logged = [r for r in caplog.records if r.getMessage().startswith("no cached-input price")]
    assert len(logged) == 1 and logged[0].priced_model == "gpt-9"


def test_more_cached_than_input_tokens_never_bills_a_token_twice(prices):
    assert prices.cost("openai", "gpt-4o-mini", 1_000, 0, cached_tokens=5_000).nanos == 1_000 * 75


def test_overrides_apply_field_by_field_and_a_finer_price_than_a_nano_dollar_a_token_is_refused():
    table = PriceTable.load(
        DEFAULT_AZURE_DEPLOYMENTS, overrides={"openai": {"gpt-4o": {"cachedInput": Decimal("0.5")}}}
    )
    assert table.cost("openai", "gpt-4o", 1_000, 0, cached_tokens=1_000).nanos == 500_000
    assert table.cost("openai", "gpt-4o", 1_000, 0).nanos == 2_500_000  # the file's input price stays
    with pytest.raises(ValueError, match="whole nano-dollar"):
        PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS, overrides={"openai": {"gpt-4o": {"input": Decimal("2.5001")}}})
    with pytest.raises(ValueError, match="unknown fields"):
        PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS, overrides={"openai": {"gpt-4o": {"cached": Decimal("1")}}})


def test_added_up_costs_and_budget_rounding_stay_on_the_safe_side(prices):
    calls = [prices.cost("openai", "gpt-4o-mini", 10, 20), prices.cost("openai", "gpt-4o-mini", 1_100, 5, 1_024)]
    total = added_up(calls, "gpt-4o-mini")
    assert total.nanos == 13_500 + (76 * 150 + 1_024 * 75 + 5 * 600)
    assert (total.input_tokens, total.output_tokens, total.cached_tokens) == (1_110, 25, 1_024)
    assert (nanos_to_micros_ceiling(1_001), nanos_to_micros_ceiling(1_000), nanos_to_micros(1_499)) == (2, 1, 1)
