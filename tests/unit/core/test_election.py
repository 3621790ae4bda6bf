"""The one claim-once election every alert path uses: one winner, a TTL past the longest period, release on failure."""

from __future__ import annotations

import threading

import pytest

from shared.core.election import MARKER_TTL_S, Election
from tests.support.fakes import InMemoryCostStore

MARKER = ("ALERT#daily#50000000", "DAY#2026-01-02")
AT = 1_767_312_000.5


def test_only_the_first_claim_publishes_and_the_marker_outlives_a_month():
    store = InMemoryCostStore()
    election = Election(store)
    sent: list[str] = []

    first = election.run(MARKER, AT, {"spentMicros": 7}, lambda: sent.append("a") or "subject a")
    second = election.run(MARKER, AT + 5, {"spentMicros": 9}, lambda: sent.append("b") or "subject b")

    assert (first, second, sent) == ("subject a", None, ["a"])
    marker = store.items[MARKER]
    assert marker["spentMicros"] == 7  # the winner's figures stay
    assert marker["expiresAt"] == int(AT) + MARKER_TTL_S
    assert MARKER_TTL_S > 31 * 86_400


def test_a_failed_publish_releases_the_marker_so_the_next_check_sends():
    store = InMemoryCostStore()
    election = Election(store)

    def broken() -> str:
        raise ConnectionError("SNS is down")

    with pytest.raises(ConnectionError):
        election.run(MARKER, AT, {}, broken)
    assert MARKER not in store.items
    assert election.run(MARKER, AT, {}, lambda: "retried") == "retried"


def test_of_many_concurrent_callers_exactly_one_wins():
    store = InMemoryCostStore()
    election = Election(store, ttl_s=60)
    winners: list[int] = []
    start = threading.Barrier(8)

    def contend(n: int) -> None:
        start.wait()
        if election.run(MARKER, AT, {"caller": n}, lambda: n) is not None:
            winners.append(n)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert store.items[MARKER]["caller"] == winners[0]
    assert store.items[MARKER]["expiresAt"] == int(AT) + 60
