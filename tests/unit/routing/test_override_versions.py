"""The router's view of the overrides with a version board: a read only when the published version moved,
the next call after a change on the new route, DynamoDB whenever the board cannot say."""

from __future__ import annotations

from shared.routing.override_versions import AnnouncingOverrideStore
from shared.routing.overrides import CachedRouteOverrides, RouteChange, RoutingOverrides, new_change_id
from tests.support.fakes import InMemoryRoutingOverrideStore, InMemoryVersionBoard
from tests.support.optimization import AZURE_MINI, OPENAI_MINI


def change(after):
    return RouteChange(new_change_id(1.8e9), "apply", "caption", (AZURE_MINI,), after, False, True, "ops", 1.8e9)


def test_a_warm_view_reads_dynamodb_only_when_the_version_moves():
    store, board = InMemoryRoutingOverrideStore(), InMemoryVersionBoard()
    writer, view = AnnouncingOverrideStore(store, board), CachedRouteOverrides(store, 0, board=board)
    assert view.routes() == {} and store.reads == 1 and board.version == 0  # seeded from the read
    assert [view.routes() for _ in range(3)] == [{}] * 3 and store.reads == 1
    writer.commit(change((OPENAI_MINI,)), {"caption": (OPENAI_MINI,)}, 0)
    assert board.version == 1
    assert view.routes() == {"caption": (OPENAI_MINI,)} and store.reads == 2
    assert view.routes() == {"caption": (OPENAI_MINI,)} and store.reads == 2


def test_a_view_that_never_read_reads_even_when_the_board_has_a_version():
    store, board = InMemoryRoutingOverrideStore(), InMemoryVersionBoard()
    store.overrides, board.version = RoutingOverrides({"caption": (OPENAI_MINI,)}, 4), 4
    view = CachedRouteOverrides(store, 0, board=board)
    assert view.routes() == {"caption": (OPENAI_MINI,)} and store.reads == 1


def test_an_unreachable_board_means_a_dynamodb_read_every_call_and_a_change_still_commits():
    store, board = InMemoryRoutingOverrideStore(), InMemoryVersionBoard()
    writer, view = AnnouncingOverrideStore(store, board), CachedRouteOverrides(store, 0, board=board)
    view.routes()
    board.down = True
    writer.commit(change((OPENAI_MINI,)), {"caption": (OPENAI_MINI,)}, 0)  # published nowhere, committed
    assert store.overrides.version == 1
    assert view.routes() == {"caption": (OPENAI_MINI,)}
    assert view.routes() == {"caption": (OPENAI_MINI,)} and store.reads == 3


def test_a_failed_dynamodb_read_keeps_the_routes_held_and_retries_next_call():
    store, board = InMemoryRoutingOverrideStore(), InMemoryVersionBoard()
    writer, view = AnnouncingOverrideStore(store, board), CachedRouteOverrides(store, 0, board=board)
    writer.commit(change((OPENAI_MINI,)), {"caption": (OPENAI_MINI,)}, 0)
    assert view.routes() == {"caption": (OPENAI_MINI,)}
    writer.commit(change(()), {}, 1)
    store.fail_reads = True
    assert view.routes() == {"caption": (OPENAI_MINI,)}  # the last routes read, not a failed campaign
    store.fail_reads = False
    assert view.routes() == {}


def test_a_failing_board_is_left_alone_for_a_while_then_asked_again():
    store, board = InMemoryRoutingOverrideStore(), InMemoryVersionBoard()
    now = [100.0]
    view = CachedRouteOverrides(store, 0, clock=lambda: now[0], board=board, board_retry_s=5.0)
    view.routes()
    board.down = True
    view.routes()
    asked = board.reads
    now[0] += 4.9
    assert view.routes() == {} and board.reads == asked  # DynamoDB only, no wait on Redis
    board.down = False
    now[0] += 0.1
    before = store.reads
    assert view.routes() == {} and board.reads == asked + 1 and store.reads == before  # same version: no read


def test_with_a_board_a_cache_time_does_not_delay_a_change():
    # ROUTING_OVERRIDES_CACHE_S=1 is in every function's environment (for the deployed ones without Redis);
    # a view that has a board still asks it on every call, so the next call after a change sees it.
    store, board = InMemoryRoutingOverrideStore(), InMemoryVersionBoard()
    now = [100.0]
    writer = AnnouncingOverrideStore(store, board)
    view = CachedRouteOverrides(store, 1.0, clock=lambda: now[0], board=board)
    assert view.routes() == {}
    writer.commit(change((OPENAI_MINI,)), {"caption": (OPENAI_MINI,)}, 0)
    now[0] += 0.1
    assert view.routes() == {"caption": (OPENAI_MINI,)} and store.reads == 2


def test_the_view_holds_the_whole_overrides_item_and_sees_an_announced_experiment_write():
    store, board = InMemoryRoutingOverrideStore(), InMemoryVersionBoard()
    view = CachedRouteOverrides(store, 0, board=board)
    assert view.current() == RoutingOverrides() and board.version == 0
    running = {"caption": {"id": "exp_1", "variants": []}}
    store.overrides = RoutingOverrides({}, 1, running)  # an experiment's write: experiments set, version bumped
    assert view.current().experiments == {}  # not announced: the board still says 0, the view keeps what it holds
    board.offer(1)
    assert view.current() == RoutingOverrides({}, 1, running) and store.reads == 2
    store.fail_reads, board.version = True, 2
    assert view.current().experiments == running  # a failed read keeps the whole item last read
