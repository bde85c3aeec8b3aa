"""The event schema registry in PostgreSQL, for a deployment shared by several services.

Layout and locking are described in :mod:`aegis_shared.events.registry_store`; this module is
separate because it needs SQLAlchemy (the ``db`` extra) while the file store does not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from aegis_shared._extras import require_extra

require_extra("db", "aegis_shared.events.registry_pg (the PostgreSQL schema registry)")

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError

from aegis_shared.errors import AegisError, DatabaseError
from aegis_shared.events.compatibility import CompatibilityMode, parse_mode
from aegis_shared.events.registry_store import (
    DEFAULT_MODE,
    Gate,
    SchemaVersion,
    SubjectState,
    canonical_json,
    schema_fingerprint,
    subject_not_found,
    validate_subject,
    version_not_found,
)

_metadata = sa.MetaData()

event_schemas = sa.Table(
    "event_schemas",
    _metadata,
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema", JSONB, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("deprecated", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("deprecation_reason", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("subject", "fingerprint", name="uq_event_schemas_subject_fingerprint"),
    sa.CheckConstraint("version >= 1", name="ck_event_schemas_version_positive"),
)

event_schema_subjects = sa.Table(
    "event_schema_subjects",
    _metadata,
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)


class PostgresRegistryStore:
    """The registry in PostgreSQL, for a deployment shared by several services."""

    def __init__(self, engine: sa.Engine, *, create: bool = True) -> None:
        self.engine = engine
        if create:
            with self._guard("create registry tables"):
                _metadata.create_all(engine, checkfirst=True)

    def subjects(self) -> list[str]:
        with self._guard("list subjects"), self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(event_schemas.c.subject).distinct().order_by(event_schemas.c.subject)
            )
            return [r.subject for r in rows]

    def state(self, subject: str) -> SubjectState:
        validate_subject(subject)
        with self._guard("read subject"), self.engine.connect() as conn:
            return self._state(conn, subject)

    def append(self, subject: str, schema: Mapping[str, Any], gate: Gate) -> tuple[SchemaVersion, bool]:
        validate_subject(subject)
        fingerprint = schema_fingerprint(schema)
        try:
            with self._guard("register schema"), self.engine.begin() as conn:
                self._lock(conn, subject)
                state = self._state(conn, subject)
                existing = state.find(fingerprint)
                if existing is not None:
                    return existing, False
                gate(state)
                number = len(state.versions) + 1
                conn.execute(
                    event_schemas.insert().values(
                        subject=subject,
                        version=number,
                        schema=json.loads(canonical_json(schema)),
                        fingerprint=fingerprint,
                        mode=state.mode.value,
                    )
                )
                return self._state(conn, subject).versions[number - 1], True
        except IntegrityError as exc:
            # Only reachable if a writer bypassed the advisory lock; the constraints held.
            raise DatabaseError(
                "DB_4002",
                f"a concurrent registration for {subject!r} won; retry",
                details={"subject": subject},
            ) from exc

    def set_mode(self, subject: str, mode: CompatibilityMode) -> None:
        validate_subject(subject)
        value = parse_mode(mode).value
        with self._guard("set mode"), self.engine.begin() as conn:
            self._lock(conn, subject)
            stmt = pg_insert(event_schema_subjects).values(subject=subject, mode=value)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[event_schema_subjects.c.subject],
                    set_={"mode": value, "updated_at": sa.func.now()},
                )
            )

    def deprecate(self, subject: str, version: int, reason: str) -> SchemaVersion:
        validate_subject(subject)
        with self._guard("deprecate version"), self.engine.begin() as conn:
            self._lock(conn, subject)
            result = conn.execute(
                event_schemas.update()
                .where(event_schemas.c.subject == subject, event_schemas.c.version == version)
                .values(deprecated=True, deprecation_reason=reason)
            )
            if result.rowcount == 0:
                if not self._state(conn, subject).versions:
                    raise subject_not_found(subject)
                raise version_not_found(subject, version)
            return self._state(conn, subject).versions[version - 1]

    @staticmethod
    def _lock(conn: sa.Connection, subject: str) -> None:
        # Serialises writers of one subject until the transaction ends; readers are not blocked.
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("event_schemas:" + subject))))

    @staticmethod
    def _state(conn: sa.Connection, subject: str) -> SubjectState:
        mode_value = conn.execute(
            sa.select(event_schema_subjects.c.mode).where(event_schema_subjects.c.subject == subject)
        ).scalar_one_or_none()
        mode = parse_mode(mode_value) if mode_value else DEFAULT_MODE
        rows = conn.execute(
            sa.select(event_schemas)
            .where(event_schemas.c.subject == subject)
            .order_by(event_schemas.c.version)
        )
        versions = tuple(
            SchemaVersion(
                subject=r.subject,
                version=r.version,
                schema=MappingProxyType(r.schema),
                mode=parse_mode(r.mode),
                deprecated=r.deprecated,
                deprecation_reason=r.deprecation_reason,
                created_at=r.created_at,
            )
            for r in rows
        )
        return SubjectState(subject, mode, versions)

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except AegisError:
            raise
        except IntegrityError:
            raise
        except (OperationalError, InterfaceError) as exc:
            raise DatabaseError(
                "DB_4003",
                f"schema registry could not {action}: {type(exc).__name__}",
                details={"action": action},
            ) from exc
        except SQLAlchemyError as exc:
            raise DatabaseError(
                "DB_4004",
                f"schema registry could not {action}: {type(exc).__name__}",
                details={"action": action},
            ) from exc
