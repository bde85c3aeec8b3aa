"""PostgreSQL, the source of truth, as a Dagster resource.

The resource never runs DDL: step processes need no DDL rights, and a column another team added
can never make an asset plan a drop. Migrations are an explicit step (``aegis schema migrate``,
the ``schema_migrate_job`` Dagster job, ``aegis devstack up``); the resource only checks, once
per process and database, that the schema is at the version the bundled registry expects, and
otherwise fails with DB_4020 naming the command to run.
"""

from __future__ import annotations

import threading
from functools import cache

import dagster as dg
import sqlalchemy as sa
from pydantic import Field, SecretStr

from aegis_orchestration.resources._settings import resolve
from aegis_shared.database import MigrationResult, apply_registry, check_schema

_checked: set[str] = set()
_checked_lock = threading.Lock()


@cache
def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _checked_engine(url: str) -> sa.Engine:
    engine = _engine(url)
    with _checked_lock:
        if url not in _checked:
            # Only success is remembered: after `aegis schema migrate` the next call passes.
            check_schema(engine)
            _checked.add(url)
    return engine


class PostgresResource(dg.ConfigurableResource):
    """SQLAlchemy engine on the Aegis database, which must already be migrated (see module doc)."""

    url: str | None = Field(None, description="Overrides AEGIS_POSTGRES_URL (use an EnvVar for secrets).")

    def _url(self) -> str:
        url = resolve({"postgres_url": SecretStr(self.url) if self.url else None}).postgres_url
        return url.get_secret_value()

    def engine(self) -> sa.Engine:
        """The engine; raises DB_4020 if the database is not at the expected schema version."""
        return _checked_engine(self._url())

    def migrate(self, *, actor: str = "schema_migrate_job", lock_timeout: float = 120.0) -> MigrationResult:
        """The explicit migration step (``schema_migrate_job``): bring the database to the registry.

        Never drops anything (data-losing changes need ``aegis schema migrate --allow-data-loss``).
        """
        return apply_registry(_engine(self._url()), actor=actor, lock_timeout=lock_timeout)
