"""The event store on real PostgreSQL: streams, optimistic concurrency with concurrent writers,
the all-streams order with a transaction still running, and bad input refused with nothing written."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import sqlalchemy as sa

from aegis_shared.errors import DatabaseError
from aegis_shared.eventstore import ANY, NO_STREAM, START, EventStore, NewEvent


def deposited(amount: int) -> NewEvent:
    return NewEvent("Deposited", {"amount": amount}, {"actor": "test"})


def count(store: EventStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM event_store")).scalar_one())


def test_a_stream_reads_back_in_version_order_from_any_version(store: EventStore) -> None:
    store.append_event("acct-1", deposited(10), NO_STREAM)
    store.append_events("acct-1", [deposited(20), deposited(30)], 1)
    store.append_event("acct-2", deposited(99), ANY)

    events = store.get_events("acct-1")
    assert [(e.stream_version, e.data["amount"]) for e in events] == [(1, 10), (2, 20), (3, 30)]
    assert events[0].metadata == {"actor": "test"} and events[0].event_type == "Deposited"
    assert [e.data["amount"] for e in store.get_events("acct-1", from_version=3)] == [30]
    assert store.get_events("acct-unknown") == []
    assert store.stream_version("acct-1") == 3 and store.stream_version("acct-unknown") == 0


def test_a_stale_expected_version_is_refused_with_a_coded_error_and_nothing_is_written(
    store: EventStore,
) -> None:
    store.append_events("acct-1", [deposited(1), deposited(2)], NO_STREAM)
    with pytest.raises(DatabaseError) as stale:
        store.append_event("acct-1", deposited(3), 1)
    assert stale.value.code == "DB_4030"
    assert stale.value.details == {"stream_id": "acct-1", "expected_version": 1, "actual_version": 2}
    with pytest.raises(DatabaseError) as exists:
        store.append_event("acct-1", deposited(3), NO_STREAM)
    assert exists.value.code == "DB_4030"
    assert [e.data["amount"] for e in store.get_events("acct-1")] == [1, 2]


def test_a_conflict_leaves_the_callers_transaction_usable(store: EventStore) -> None:
    store.append_event("acct-1", deposited(1), NO_STREAM)
    with store.engine.begin() as conn:
        store.append_event("acct-2", deposited(5), NO_STREAM, connection=conn)
        with pytest.raises(DatabaseError):
            store.append_event("acct-1", deposited(2), NO_STREAM, connection=conn)
        store.append_event("acct-2", deposited(6), 1, connection=conn)
    assert [e.data["amount"] for e in store.get_events("acct-2")] == [5, 6]


def _wait_until_blocked(engine: sa.Engine, timeout: float = 10.0) -> None:
    """Until some session of this database waits on a lock (the second writer)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second writer never waited for the first")


def test_two_concurrent_writers_with_the_same_expected_version_one_wins_the_other_gets_a_conflict(
    store: EventStore,
) -> None:
    store.append_event("acct-1", deposited(1), NO_STREAM)
    # Writer A has appended version 2 but not committed when writer B, which read the same
    # version 1, appends: B's own check passes (A's row is invisible to it), so only the unique
    # index can stop it.
    outcome: dict[str, object] = {}
    with store.engine.begin() as a:
        store.append_event("acct-1", deposited(100), 1, connection=a)

        def writer_b() -> None:
            try:
                outcome["b"] = store.append_event("acct-1", deposited(200), 1)
            except DatabaseError as exc:
                outcome["b"] = exc

        b = threading.Thread(target=writer_b)
        b.start()
        _wait_until_blocked(store.engine)
    b.join(30)
    assert isinstance(outcome["b"], DatabaseError) and outcome["b"].code == "DB_4030"
    assert [e.data["amount"] for e in store.get_events("acct-1")] == [1, 100]


def test_many_writers_racing_for_one_version_exactly_one_wins(store: EventStore) -> None:
    store.append_event("acct-1", deposited(0), NO_STREAM)
    start = threading.Barrier(8)

    def write(i: int) -> str:
        start.wait()
        try:
            store.append_event("acct-1", deposited(i), 1)
        except DatabaseError as exc:
            return exc.code
        return "ok"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(write, range(1, 9)))
    assert sorted(results) == ["DB_4030"] * 7 + ["ok"]
    events = store.get_events("acct-1")
    assert [e.stream_version for e in events] == [1, 2]
    assert events[1].data["amount"] == results.index("ok") + 1


def test_batch_appends_to_many_streams_continue_each_stream(store: EventStore) -> None:
    store.append_event("a", deposited(1), NO_STREAM)
    landed = store.append_to_streams([("a", deposited(2)), ("b", deposited(3)), ("a", deposited(4))])
    assert [(x.stream_id, x.stream_version) for x in landed] == [("a", 2), ("b", 1), ("a", 3)]
    assert [e.data["amount"] for e in store.get_events("a")] == [1, 2, 4]


def test_read_all_never_skips_an_event_committed_after_a_later_one(store: EventStore) -> None:
    store.append_event("s-0", deposited(0), NO_STREAM)
    with store.engine.begin() as slow:
        store.append_event("s-slow", deposited(1), NO_STREAM, connection=slow)  # takes its position first
        store.append_event("s-fast", deposited(2), NO_STREAM)  # commits first
        seen = store.read_all(START)
        # The fast event is committed, but the slow transaction could still add events before it
        # in the order: a reader must not move past it yet.
        assert [e.stream_id for e in seen] == ["s-0"]
    after = store.read_all(seen[-1].checkpoint)
    assert [e.stream_id for e in after] == ["s-slow", "s-fast"]
    assert [e.stream_id for e in store.read_all(START, limit=2)] == ["s-0", "s-slow"]
    assert store.read_all(after[-1].checkpoint) == []


@pytest.mark.parametrize(
    ("stream", "events", "expected", "says"),
    [
        ("   ", [deposited(1)], ANY, "stream id"),
        ("acct", [NewEvent(" ", {"a": 1})], ANY, "event type"),
        ("acct", [NewEvent("X", {"when": object()})], ANY, "not JSON-serialisable"),
        ("acct", [NewEvent("X", ["not", "an", "object"])], ANY, "JSON objects"),  # type: ignore[arg-type]
        ("acct", [deposited(1)], -1, "expected_version"),
        ("acct", [], NO_STREAM, "nothing to append"),
    ],
)
def test_bad_appends_are_refused_clearly_and_write_nothing(
    store: EventStore, stream: str, events: list[NewEvent], expected: int | None, says: str
) -> None:
    with pytest.raises(DatabaseError) as refused:
        store.append_events(stream, events, expected)
    assert refused.value.code == "DB_4031" and says in refused.value.message
    assert count(store) == 0


def test_event_data_keeps_json_types(store: EventStore) -> None:
    store.append_event("d", NewEvent("Dated", {"day": date(2026, 12, 3), "ok": True, "n": None}), ANY)
    assert store.get_events("d")[0].data == {"day": "2026-12-03", "ok": True, "n": None}
