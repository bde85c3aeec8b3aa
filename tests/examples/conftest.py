"""Fixtures for the example consumers in ``examples/``: each is loaded from its file, as its own
team would run it, and gets a fresh database on the test stack's PostgreSQL."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from aegis_orchestration.devstack import DevStack
from aegis_shared.database import apply_registry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(relative: str) -> ModuleType:
    """Import ``examples/<relative>`` by path (examples are not packages of this repository)."""
    path = EXAMPLES / relative
    name = f"aegis_example_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and typing resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fresh_database(devstack: DevStack) -> Iterator[str]:
    """A new database with the Aegis schema registry applied; dropped afterwards."""
    name = f"ex_{uuid.uuid4().hex[:10]}"
    admin = devstack.postgres.url("postgres", driver="postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = devstack.postgres.url(name)
    engine = sa.create_engine(url)
    try:
        apply_registry(engine)
    finally:
        engine.dispose()
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
