"""Fixtures for the database tests: a fresh PostgreSQL database per test, and registry files.

Each migration test gets its own database (created from the session's real server), so tests
can create, alter and drop tables without seeing each other's schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from aegis_shared.database.schema_registry import default_registry_dir


@pytest.fixture
def fresh_engine(pg_engine: sa.Engine) -> Iterator[sa.Engine]:
    """An engine on a brand-new empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(pg_engine.url.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    """A private copy of the real registry directory that a test may edit."""
    target = tmp_path / "registry"
    target.mkdir()
    for path in default_registry_dir().glob("*.yaml"):
        (target / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return target


WriteTable = Callable[..., Path]


@pytest.fixture
def write_table(tmp_path: Path) -> WriteTable:
    """Write a table dict (or raw text) as ``<dir>/<file>.yaml``; returns the path."""

    def write(directory: Path, file: str, content: dict | str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        text = (
            content
            if isinstance(content, str)
            else yaml.safe_dump(content, sort_keys=False, allow_unicode=True)
        )
        path = directory / f"{file}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
