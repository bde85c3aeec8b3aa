"""Catch-up subscriptions and projections on real PostgreSQL: a stored checkpoint that survives a
restart and a failing handler, and a read model rebuilt from zero equal to the incremental one."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

import pytest
import sqlalchemy as sa

from aegis_shared.eventstore import (
    ANY,
    NO_STREAM,
    START,
    EventStore,
    NewEvent,
    RecordedEvent,
    Subscription,
    project,
    rebuild,
)


class Balances:
    """A read model: each account's balance and how many movements it had."""

    name = "balances"
    event_types: Collection[str] | None = ("Deposited", "Withdrawn")

    def reset(self, conn: sa.Connection) -> None:
        conn.execute(sa.text("DELETE FROM balances"))

    def apply(self, conn: sa.Connection, events: Sequence[RecordedEvent]) -> None:
        for e in events:
            amount = e.data["amount"] if e.event_type == "Deposited" else -e.data["amount"]
            conn.execute(
                sa.text(
                    "INSERT INTO balances (account, balance, movements) VALUES (:a, :m, 1) "
                    "ON CONFLICT (account) DO UPDATE SET balance = balances.balance + :m, "
                    "movements = balances.movements + 1"
                ),
                {"a": e.stream_id, "m": amount},
            )


@pytest.fixture
def balances(es_engine: sa.Engine) -> Balances:
    with es_engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE balances (account text PRIMARY KEY, balance bigint, movements int)")
        )
    return Balances()


def snapshot(engine: sa.Engine) -> list[tuple[str, int, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM balances ORDER BY account")).all()]


def test_a_rebuilt_read_model_equals_the_incrementally_kept_one(
    store: EventStore, balances: Balances
) -> None:
    rng = random.Random(20)
    expected: dict[str, int] = {}
    for _round in range(5):
        for _ in range(rng.randint(5, 40)):
            account = f"acct-{rng.randint(1, 6)}"
            amount = rng.randint(1, 500)
            kind = rng.choice(["Deposited", "Withdrawn", "Renamed"])
            store.append_event(account, NewEvent(kind, {"amount": amount}), ANY)
            if kind != "Renamed":
                expected[account] = expected.get(account, 0) + (amount if kind == "Deposited" else -amount)
        project(store, balances, batch_size=7)  # incremental, in small batches
    incremental = snapshot(store.engine)
    assert {a: b for a, b, _ in incremental} == expected

    with store.engine.begin() as conn:  # damage the model: a rebuild must not depend on it
        conn.execute(sa.text("UPDATE balances SET balance = 0"))
    rebuild(store, balances, batch_size=11)
    assert snapshot(store.engine) == incremental
    # The rebuild left the checkpoint at the end: catching up again applies nothing twice.
    assert project(store, balances) == 0
    assert snapshot(store.engine) == incremental


def test_a_subscription_resumes_from_its_stored_checkpoint_after_a_restart(store: EventStore) -> None:
    seen: list[int] = []

    def handle(_conn: sa.Connection, events: Sequence[RecordedEvent]) -> None:
        seen.extend(e.data["n"] for e in events)

    for n in range(3):
        store.append_event("s", NewEvent("N", {"n": n}), ANY)
    first = Subscription(store, "counter", handle, batch_size=2)
    assert first.checkpoint() == START
    assert first.catch_up() == 3
    for n in range(3, 5):
        store.append_event("s", NewEvent("N", {"n": n}), ANY)
    restarted = Subscription(store, "counter", handle)  # a new process: only the stored checkpoint
    assert restarted.checkpoint() == store.get_events("s")[2].checkpoint
    assert restarted.catch_up() == 2
    assert seen == [0, 1, 2, 3, 4]


def test_a_failing_handler_keeps_the_checkpoint_so_the_batch_is_read_again(
    store: EventStore, balances: Balances
) -> None:
    store.append_event("acct-1", NewEvent("Deposited", {"amount": 5}), NO_STREAM)
    store.append_event("acct-1", NewEvent("Withdrawn", {"amount": "not a number"}), 1)

    with pytest.raises(TypeError):
        project(store, balances)
    assert snapshot(store.engine) == []  # the good event of the failed batch was rolled back too
    assert Subscription(store, balances.name, balances.apply).checkpoint() == START
