"""A newcomer's first hour: the README's quick start, then the seed history, then a forecast and recommendations.

``make run`` itself is not run here: the session's ``api`` fixture stands in for it (the same
:class:`local.stack.LocalStack` ``make run`` starts, with its API, queue drainers and stream pollers). The
quick start's ```bash blocks are taken from README.md as written and run in order (``localhost:3000`` and
``$(make -s token …)`` substituted, as in ``test_documented_commands.py``); the seed is
:func:`local.seed.seed_from_container`, which ``make seed`` runs, in-process against the same stack, at a
tenth of its volume (still 60 days) to keep the test short.
"""

from __future__ import annotations

from tests.support.docs import REPO_ROOT, bash_blocks, run_block

FIRST_SCREEN = "Quick start"
HISTORY = "Something to look at: 60 days of history"


def test_quick_start_then_seed_then_forecast_and_optimization(api, sim):
    from local.seed import seed_from_container

    blocks = [b for b in bash_blocks(REPO_ROOT / "README.md") if b.section == FIRST_SCREEN]
    first_screen = [b for b in blocks if b.heading == FIRST_SCREEN]
    assert len(first_screen) >= 3, "the quick start lost its campaign, fan message or spend commands"
    for block in first_screen:
        done = run_block(block, api.url)
        assert not done.problems(), "\n".join([block.name, *done.problems(), done.stderr[-2000:]])
    sent = api.call("GET", "/_sim/sent").body
    assert {m["recipientId"] for m in sent if m["accountId"] == "creator_demo"} >= {"fan-1", "fan-2"}

    total, recorded = seed_from_container(scale=0.1)
    assert total > 0 and recorded <= total
    for block in (b for b in blocks if b.heading == HISTORY):
        done = run_block(block, api.url)
        assert not done.problems(), "\n".join([block.name, *done.problems(), done.stderr[-2000:]])

    admin = api.token("newcomer-ops", admin=True)
    forecast = api.call("GET", "/api/v2/costs/forecast", token=admin)
    assert forecast.status == 200, forecast.body
    assert forecast.body["data"]["status"] != "insufficient_history", forecast.body["data"]
    optimization = api.call("GET", "/api/v2/costs/optimization", token=admin)
    assert optimization.status == 200, optimization.body
    assert optimization.body["data"]["recommendations"], optimization.body["data"]


def test_a_second_seed_records_nothing_new(api):
    """Request ids come from the seed and the day, so the same seed again finds every id taken."""
    from local.seed import seed_from_container

    seed_from_container(scale=0.1)
    total, recorded = seed_from_container(scale=0.1)

    assert total > 0
    assert recorded == 0
