"""Engines and sessions for SQLAlchemy 2 on psycopg 3, sync and async, from one URL.

``postgresql+psycopg://`` serves both: SQLAlchemy picks psycopg's async mode for
``create_async_engine``. The URL defaults to ``Settings.postgres_url``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from aegis_shared.config import Settings, get_settings
from aegis_shared.errors import DatabaseError


def database_url(settings: Settings | None = None) -> str:
    """The PostgreSQL URL from settings (a secret: never log it)."""
    return (settings or get_settings()).postgres_url.get_secret_value()


def create_engine(url: str | None = None, *, settings: Settings | None = None, **options: Any) -> sa.Engine:
    """A pooled sync engine; ``pool_pre_ping`` so a restarted server does not fail the first query."""
    options.setdefault("pool_pre_ping", True)
    return sa.create_engine(url or database_url(settings), **options)


def create_async_db_engine(
    url: str | None = None, *, settings: Settings | None = None, **options: Any
) -> AsyncEngine:
    """A pooled async engine on the same URL (psycopg 3's async mode)."""
    options.setdefault("pool_pre_ping", True)
    return create_async_engine(url or database_url(settings), **options)


def session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after the session that loaded them commits.
    return sessionmaker(engine, expire_on_commit=False)


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    with factory() as session, session.begin():
        yield session


@asynccontextmanager
async def async_session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The async twin of :func:`session_scope`."""
    async with factory() as session, session.begin():
        yield session


def ping(engine: sa.Engine) -> None:
    """Check the database answers; raises DB_4003 (without the URL) when it does not."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except OperationalError as exc:
        raise DatabaseError(
            "DB_4003",
            details={"host": engine.url.host, "port": engine.url.port, "database": engine.url.database},
        ) from exc


async def ping_async(engine: AsyncEngine) -> None:
    """Async :func:`ping`."""
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
    except OperationalError as exc:
        raise DatabaseError(
            "DB_4003",
            details={"host": engine.url.host, "port": engine.url.port, "database": engine.url.database},
        ) from exc
