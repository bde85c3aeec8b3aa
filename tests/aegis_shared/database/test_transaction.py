"""Retries on real serialization failures and deadlocks, and the DB_4011 error when they run out."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from aegis_shared.database.engine import create_async_db_engine, create_engine, ping
from aegis_shared.database.transaction import run_in_transaction, run_in_transaction_async
from aegis_shared.errors import DatabaseError


@pytest.fixture
def counters(fresh_engine: sa.Engine) -> sa.Engine:
    with fresh_engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)"))
        connection.execute(sa.text("INSERT INTO counters VALUES (1, 0), (2, 0)"))
    return fresh_engine


def _interfering_increment(engine: sa.Engine, conflicts: int, attempts: list[int]):
    """Work that reads, then (while ``conflicts`` remain) lets another session commit a write first."""

    def work(connection: sa.Connection) -> int:
        attempts.append(1)
        current = connection.execute(sa.text("SELECT n FROM counters WHERE id = 1")).scalar_one()
        if len(attempts) <= conflicts:
            with engine.begin() as other:
                other.execute(sa.text("UPDATE counters SET n = n + 100 WHERE id = 1"))
        # Under REPEATABLE READ, updating a row changed since our snapshot is error 40001.
        connection.execute(sa.text("UPDATE counters SET n = :n WHERE id = 1"), {"n": current + 1})
        return current + 1

    return work


def test_serialization_failure_is_retried_until_it_succeeds(counters: sa.Engine) -> None:
    attempts: list[int] = []
    result = run_in_transaction(
        counters,
        _interfering_increment(counters, 2, attempts),
        isolation_level="REPEATABLE READ",
        base_delay=0.01,
    )
    assert len(attempts) == 3 and result == 201
    with counters.connect() as connection:
        assert connection.execute(sa.text("SELECT n FROM counters WHERE id = 1")).scalar_one() == 201


def test_exhausted_retries_raise_db_4011_and_lose_nothing(counters: sa.Engine) -> None:
    attempts: list[int] = []
    with pytest.raises(DatabaseError) as info:
        run_in_transaction(
            counters,
            _interfering_increment(counters, 99, attempts),
            isolation_level="REPEATABLE READ",
            attempts=3,
            base_delay=0.01,
        )
    assert info.value.code == "DB_4011" and info.value.details == {
        "attempts": 3,
        "cause": "SerializationFailure",
    }
    # Only the interfering sessions' committed writes are there; none of ours half-applied.
    with counters.connect() as connection:
        assert connection.execute(sa.text("SELECT n FROM counters WHERE id = 1")).scalar_one() == 300


def test_other_errors_are_not_retried(counters: sa.Engine) -> None:
    calls: list[int] = []

    def work(connection: sa.Connection) -> None:
        calls.append(1)
        connection.execute(sa.text("SELECT * FROM no_such_table"))

    with pytest.raises(sa.exc.ProgrammingError):
        run_in_transaction(counters, work)
    assert calls == [1]


def test_deadlock_victim_is_retried(counters: sa.Engine) -> None:
    barrier = threading.Barrier(2)
    results: list[object] = []
    attempts: list[int] = []

    def locker(first: int, second: int):
        def work(connection: sa.Connection) -> str:
            attempts.append(first)
            connection.execute(sa.text("UPDATE counters SET n = n + 1 WHERE id = :i"), {"i": first})
            if len(attempts) <= 2:  # only the first round is arranged to collide
                barrier.wait(timeout=10)
            connection.execute(sa.text("UPDATE counters SET n = n + 1 WHERE id = :i"), {"i": second})
            return "ok"

        return work

    def run(first: int, second: int) -> None:
        try:
            results.append(run_in_transaction(counters, locker(first, second), base_delay=0.01))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == ["ok", "ok"]
    assert len(attempts) == 3  # one side was the deadlock victim and ran again
    with counters.connect() as connection:
        assert connection.execute(sa.text("SELECT sum(n) FROM counters")).scalar_one() == 4


async def test_async_retry(counters: sa.Engine) -> None:
    engine = create_async_db_engine(counters.url.render_as_string(hide_password=False))
    calls: list[int] = []

    async def work(connection) -> int:
        calls.append(1)
        current = (await connection.execute(sa.text("SELECT n FROM counters WHERE id = 2"))).scalar_one()
        if len(calls) == 1:
            with counters.begin() as other:
                other.execute(sa.text("UPDATE counters SET n = n + 10 WHERE id = 2"))
        await connection.execute(sa.text("UPDATE counters SET n = :n WHERE id = 2"), {"n": current + 1})
        return current + 1

    try:
        assert (
            await run_in_transaction_async(engine, work, isolation_level="REPEATABLE READ", base_delay=0.01)
            == 11
        )
        assert len(calls) == 2
    finally:
        await engine.dispose()


def test_ping_reports_db_4003_without_the_url() -> None:
    engine = create_engine(
        "postgresql+psycopg://aegis:s3cret@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(DatabaseError) as info:
        ping(engine)
    assert info.value.code == "DB_4003" and "s3cret" not in str(info.value.to_dict())
