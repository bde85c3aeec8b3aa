"""A fresh database holding only the event store's tables, per test."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from aegis_shared.database import apply_registry
from aegis_shared.database.schema_registry import default_registry_dir
from aegis_shared.eventstore import EventStore


@pytest.fixture
def es_engine(pg_engine: sa.Engine, tmp_path: Path) -> Iterator[sa.Engine]:
    name = f"es_{uuid.uuid4().hex[:12]}"
    admin = pg_engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(pg_engine.url.set(database=name), pool_size=12)
    registry = tmp_path / "registry"
    registry.mkdir()
    for table in ("event_store", "event_subscriptions"):
        shutil.copy(default_registry_dir() / f"{table}.yaml", registry)
    apply_registry(engine, registry)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
def store(es_engine: sa.Engine) -> EventStore:
    return EventStore(es_engine)
