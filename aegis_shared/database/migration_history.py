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
    sa.Column("status", sa.Text, nullable=False),  # applied | failed | refused | rolled_back
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
    # The registry fingerprint the database is at after this row (resources check it).
    sa.Column("registry_version", sa.Text),
    # Every column of every managed table, so a column another team added is told apart from
    # one the registry stopped listing (only the latter is a drop).
    sa.Column("managed_columns", postgresql.JSONB),
    # For a rollback: the id of the migration it undid.
    sa.Column("reverts", sa.BigInteger),
)

# Columns added after the first release of this table; databases migrated before get them here.
_LATER_COLUMNS = {"registry_version": "TEXT", "managed_columns": "JSONB", "reverts": "BIGINT"}
# Rows that leave the schema in a known registry state.
STATE_STATUSES = ("applied", "rolled_back")


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
    registry_version: str | None = None
    managed_columns: dict[str, list[str]] | None = None
    reverts: int | None = None


def ensure_history_table(connection: sa.Connection) -> None:
    """Create ``schema_migrations`` if missing (caller holds a lock that serialises this)."""
    _metadata.create_all(connection, checkfirst=True)
    for name, sql_type in _LATER_COLUMNS.items():
        connection.execute(sa.text(f"ALTER TABLE {HISTORY_TABLE} ADD COLUMN IF NOT EXISTS {name} {sql_type}"))


def record(connection: sa.Connection, **values: Any) -> None:
    """Insert one history row."""
    connection.execute(sa.insert(schema_migrations).values(**values))


def last_managed_tables(connection: sa.Connection) -> list[str]:
    """Tables the last applied migration (or rollback) left under the registry's management."""
    row = _last_state(connection)
    return list(row.managed_tables) if row else []


def last_managed_columns(connection: sa.Connection) -> dict[str, list[str]]:
    """Columns per table the registry managed after the last migration; {} when unknown."""
    row = _last_state(connection)
    return dict(row.managed_columns or {}) if row else {}


def current_version(connection: sa.Connection) -> str | None:
    """The registry fingerprint the database was last migrated (or rolled back) to."""
    if not sa.inspect(connection).has_table(HISTORY_TABLE):
        return None
    row = _last_state(connection)
    return row.registry_version if row else None


def state_rows(connection: sa.Connection) -> list[HistoryEntry]:
    """Applied migrations and rollbacks, newest first."""
    query = (
        sa.select(schema_migrations)
        .where(schema_migrations.c.status.in_(STATE_STATUSES))
        .order_by(schema_migrations.c.id.desc())
    )
    return [HistoryEntry(**row._mapping) for row in connection.execute(query)]


def _last_state(connection: sa.Connection) -> sa.Row[Any] | None:
    present = {c["name"] for c in sa.inspect(connection).get_columns(HISTORY_TABLE)}
    # A history table from before the later columns (not yet migrated by this version) reads as
    # if they were empty.
    columns = [c if c.name in present else sa.null().label(c.name) for c in schema_migrations.c]
    return connection.execute(
        sa.select(*columns)
        .where(schema_migrations.c.status.in_(STATE_STATUSES))
        .order_by(schema_migrations.c.id.desc())
        .limit(1)
    ).first()


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
