"""Fixtures shared by the hot-path and sensor tests: a fresh database per test, a unique topic prefix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from aegis_shared.config import Settings
from tests.aegis_orchestration.hot_path.helpers import (
    Database,
    create_database,
    drop_database,
    ensure_collection_topic,
    unique_env,
    with_env,
)


@pytest.fixture
def db(pg_engine: sa.Engine, pg_url: str) -> Iterator[Database]:
    database = create_database(pg_engine, pg_url)
    yield database
    drop_database(pg_engine, database)


@pytest.fixture
def hp_settings(settings: Settings, db: Database) -> Settings:
    """Settings with a unique env (so unique topics) pointing at this test's database."""
    configured = with_env(settings, unique_env(), db.url)
    ensure_collection_topic(configured)
    return configured
