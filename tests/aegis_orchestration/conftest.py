"""Fixtures shared by the orchestration tests: a fresh database per test, a unique topic prefix, and
a fixed as-of day, so lifecycle decisions in tests do not change as the calendar moves on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy as sa

from aegis_shared.config import Settings, get_settings
from tests.aegis_orchestration.hot_path.helpers import (
    Database,
    create_database,
    drop_database,
    ensure_collection_topic,
    unique_env,
    with_env,
)

AS_OF = date(2026, 11, 20)
"""The day every orchestration test decides lifecycles for (``AEGIS_AS_OF``), unless it sets another."""


@contextmanager
def as_of(day: date) -> Iterator[date]:
    """Decide lifecycles as of ``day`` (``AEGIS_AS_OF``) inside the block; the previous day after it."""
    saved = os.environ.get("AEGIS_AS_OF")
    os.environ["AEGIS_AS_OF"] = day.isoformat()
    get_settings.cache_clear()
    try:
        yield day
    finally:
        if saved is None:
            os.environ.pop("AEGIS_AS_OF", None)
        else:
            os.environ["AEGIS_AS_OF"] = saved
        get_settings.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def fixed_as_of() -> Iterator[date]:
    with as_of(AS_OF) as day:
        yield day


@pytest.fixture
def db(pg_engine: sa.Engine, pg_url: str, migrated_template: str) -> Iterator[Database]:
    database = create_database(pg_engine, pg_url)
    yield database
    drop_database(pg_engine, database)


@pytest.fixture
def hp_settings(settings: Settings, db: Database) -> Settings:
    """Settings with a unique env (so unique topics) pointing at this test's database."""
    configured = with_env(settings, unique_env(), db.url)
    ensure_collection_topic(configured)
    return configured
