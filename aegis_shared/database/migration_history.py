"""The ``schema_migrations`` table: who migrated what, when, how long it took and how it ended.

It is the coordinator's own bookkeeping, so it is created here (not from the registry) and
excluded from registry comparisons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

HISTORY_TABLE = "schema_migrations"

_metadata = sa.MetaData()
schema_migrations = sa.Table(
    HISTORY_TABLE,
    _metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # applied | failed | refused
    sa.Column("services", postgresql.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
    sa.Column("tables", postgresql.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
    # Every table the registry managed after this migration, so a later removal is a drop.
    sa.Column(
        "managed_tables", postgresql.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")
    ),
    sa.Column("steps", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("error", sa.Text),
    sa.Column("failed_step", sa.Integer),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: int
    actor: str
    status: str
    services: list[str]
    tables: list[str]
    managed_tables: list[str]
    steps: list[dict[str, Any]]
    error: str | None
    failed_step: int | None
    started_at: dt.datetime
    finished_at: dt.datetime
    duration_ms: float


def ensure_history_table(connection: sa.Connection) -> None:
    """Create ``schema_migrations`` if missing (caller holds a lock that serialises this)."""
    _metadata.create_all(connection, checkfirst=True)


def record(connection: sa.Connection, **values: Any) -> None:
    """Insert one history row."""
    connection.execute(sa.insert(schema_migrations).values(**values))


def last_managed_tables(connection: sa.Connection) -> list[str]:
    """Tables the last applied migration left under the registry's management."""
    row = connection.execute(
        sa.select(schema_migrations.c.managed_tables)
        .where(schema_migrations.c.status == "applied")
        .order_by(schema_migrations.c.id.desc())
        .limit(1)
    ).first()
    return list(row[0]) if row else []


def migration_history(
    engine: sa.Engine, *, service: str | None = None, limit: int = 100
) -> list[HistoryEntry]:
    """History rows, newest first, optionally only those touching ``service``'s tables."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(HISTORY_TABLE):
            return []
        query = sa.select(schema_migrations).order_by(schema_migrations.c.id.desc()).limit(limit)
        if service is not None:
            query = query.where(schema_migrations.c.services.any_() == service)
        return [HistoryEntry(**row._mapping) for row in connection.execute(query)]
