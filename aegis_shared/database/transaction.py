"""Transactions: nesting through savepoints, and retries on serialization failures and deadlocks.

PostgreSQL aborts one side of a serialization conflict (SQLSTATE 40001) or a deadlock (40P01)
and expects the client to run the whole transaction again; tenacity does the retrying with
jittered exponential back-off, and running out of attempts is DB_4011.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

import psycopg.errors
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import (
    AsyncRetrying,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from aegis_shared.errors import DatabaseError

T = TypeVar("T")

IsolationLevel = str  # "READ COMMITTED" | "REPEATABLE READ" | "SERIALIZABLE"


def is_retryable(exc: BaseException) -> bool:
    """True for serialization failures and deadlocks, which succeed when run again."""
    return isinstance(exc, DBAPIError) and isinstance(
        exc.orig, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected
    )


@contextmanager
def transaction(bind: sa.Engine | sa.Connection) -> Iterator[sa.Connection]:
    """A transaction on an engine, or on a connection; inside an open one it is a savepoint.

    A failing nested block rolls back to its savepoint only, so the outer work survives.
    """
    if isinstance(bind, sa.Engine):
        with bind.begin() as connection:
            yield connection
    elif bind.in_transaction():
        with bind.begin_nested():
            yield bind
    else:
        with bind.begin():
            yield bind


@asynccontextmanager
async def async_transaction(bind: AsyncEngine | AsyncConnection) -> AsyncIterator[AsyncConnection]:
    """Async :func:`transaction`."""
    if isinstance(bind, AsyncEngine):
        async with bind.begin() as connection:
            yield connection
    elif bind.in_transaction():
        async with bind.begin_nested():
            yield bind
    else:
        async with bind.begin():
            yield bind


def _policy(attempts: int, base_delay: float) -> dict[str, object]:
    return {
        "retry": retry_if_exception(is_retryable),
        "stop": stop_after_attempt(attempts),
        # Exponential back-off plus jitter, so two retrying victims do not collide again in step.
        "wait": wait_exponential(multiplier=base_delay, max=2.0) + wait_random(0, base_delay),
    }


def _exhausted(attempts: int, error: RetryError) -> DatabaseError:
    last = error.last_attempt.exception()
    return DatabaseError(
        "DB_4011", details={"attempts": attempts, "cause": type(getattr(last, "orig", last)).__name__}
    )


def run_in_transaction(
    engine: sa.Engine,
    work: Callable[[sa.Connection], T],
    *,
    isolation_level: IsolationLevel | None = None,
    attempts: int = 5,
    base_delay: float = 0.05,
) -> T:
    """Run ``work`` in its own transaction, re-running it on serialization failure or deadlock.

    ``work`` may run more than once, so it must not have side effects outside the database.
    """
    bind = engine.execution_options(isolation_level=isolation_level) if isolation_level else engine
    try:
        # tenacity's keyword arguments, built once by _policy(); a dict of them types as object.
        for attempt in Retrying(**_policy(attempts, base_delay)):  # type: ignore[arg-type]
            with attempt, bind.begin() as connection:
                result = work(connection)
        return result
    except RetryError as error:
        raise _exhausted(attempts, error) from error.last_attempt.exception()


async def run_in_transaction_async(
    engine: AsyncEngine,
    work: Callable[[AsyncConnection], Awaitable[T]],
    *,
    isolation_level: IsolationLevel | None = None,
    attempts: int = 5,
    base_delay: float = 0.05,
) -> T:
    """Async :func:`run_in_transaction`."""
    bind = engine.execution_options(isolation_level=isolation_level) if isolation_level else engine
    try:
        # tenacity's keyword arguments, built once by _policy(); a dict of them types as object.
        async for attempt in AsyncRetrying(**_policy(attempts, base_delay)):  # type: ignore[arg-type]
            with attempt:
                async with bind.begin() as connection:
                    result = await work(connection)
        return result
    except RetryError as error:
        raise _exhausted(attempts, error) from error.last_attempt.exception()
