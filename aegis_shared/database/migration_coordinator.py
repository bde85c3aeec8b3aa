"""The migration coordinator: run the registry's change set on PostgreSQL, all or nothing.

Seed 000 sketches a coordinator that only sleeps. This one executes real DDL: it takes a
transaction-scoped advisory lock so only one coordinator runs at a time, computes the plan
inside that lock (so a second runner sees the first one's result and has nothing to do),
refuses data-losing steps unless allowed, runs every step in dependency order inside one
transaction (PostgreSQL DDL is transactional, so a failure leaves the schema exactly as it
was) and records the outcome in ``schema_migrations``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.exc import DBAPIError, OperationalError

from aegis_shared.database import migration_history as history
from aegis_shared.database.errors import (
    DataLossError,
    MigrationFailedError,
    MigrationLockedError,
    NothingToRollBackError,
    RollbackRefusedError,
    SchemaNotMigratedError,
)
from aegis_shared.database.migration_plan import MigrationPlan, compute_plan
from aegis_shared.database.schema_registry import SchemaRegistry

# One 64-bit advisory lock key for "the schema of this database is being migrated".
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"aegis.schema_migrations").digest()[:8], "big", signed=True
)
# A second key only guards creating the history table, so it never waits on a long migration.
_HISTORY_LOCK_KEY = MIGRATION_LOCK_KEY ^ 1


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """What a ``migrate`` call did: the plan, whether it was applied, and how long it took."""

    plan: MigrationPlan
    applied: bool
    dry_run: bool
    duration_ms: float


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MigrationCoordinator:
    """Plans and executes registry migrations against one PostgreSQL database."""

    def __init__(
        self,
        engine: sa.Engine,
        registry: SchemaRegistry,
        *,
        actor: str | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        """``lock_timeout`` is how long to wait for another coordinator (0: fail at once)."""
        self.engine = engine
        self.registry = registry
        self.actor = actor or getpass.getuser()
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ planning
    def plan(self) -> MigrationPlan:
        """The change set from the live database to the registry (read-only)."""
        with self.engine.connect() as connection:
            return self._compute(connection)

    def plan_from(self, old: SchemaRegistry) -> MigrationPlan:
        """The change set from registry ``old`` to this registry, without touching real tables.

        ``old`` is created in a scratch schema inside a transaction that is always rolled back,
        and alembic compares it with this registry there.
        """
        scratch = f"aegis_scratch_{int(time.time() * 1e6)}"
        with self.engine.connect() as connection, connection.begin() as transaction:
            connection.execute(sa.text(f'CREATE SCHEMA "{scratch}"'))
            # Only the scratch schema is visible, so reflection sees the old registry alone.
            connection.execute(sa.text(f'SET LOCAL search_path TO "{scratch}"'))
            old.metadata().create_all(connection)
            plan = compute_plan(
                connection,
                self.registry,
                previously_managed=old.names,
                previously_managed_columns=old.managed_columns(),
            )
            transaction.rollback()
        return plan

    # ------------------------------------------------------------------ executing
    def migrate(self, *, allow_data_loss: bool = False, dry_run: bool = False) -> MigrationResult:
        """Bring the database to the registry; see the module docstring for the guarantees.

        Raises ``MigrationLockedError`` (DB_4009), ``DataLossError`` (DB_4008) or
        ``MigrationFailedError`` (DB_4007); on each the schema is unchanged.
        """
        self.registry.check_references()
        self.registry.migration_order()  # refuse cycles before touching the database
        self._ensure_history()
        started = _now()
        clock = time.perf_counter()
        with self.engine.connect() as connection:
            transaction = connection.begin()
            try:
                self._lock(connection)
                plan = self._compute(connection)
                if plan.is_empty and not dry_run and history.current_version(connection) != self.version:
                    # Already in shape (created by an older release, or by hand): record the version
                    # so resources accept the database, without running anything.
                    history.record(connection, **self._row(plan, "applied", started, clock))
                    transaction.commit()
                    return MigrationResult(plan, applied=False, dry_run=False, duration_ms=_ms(clock))
                if plan.is_empty or dry_run:
                    transaction.rollback()
                    return MigrationResult(plan, applied=False, dry_run=dry_run, duration_ms=_ms(clock))
                if plan.loses_data and not allow_data_loss:
                    transaction.rollback()
                    self._record(
                        plan, "refused", started, clock, error="; ".join(plan.impact.data_loss_risks)
                    )
                    raise DataLossError(plan.impact.data_loss_risks)
                self._execute(connection, transaction, plan, started, clock)
                history.record(connection, **self._row(plan, "applied", started, clock))
                transaction.commit()
            except BaseException:
                if transaction.is_active:
                    transaction.rollback()
                raise
        return MigrationResult(plan, applied=True, dry_run=False, duration_ms=_ms(clock))

    def _execute(
        self,
        connection: sa.Connection,
        transaction: sa.RootTransaction,
        plan: MigrationPlan,
        started: dt.datetime,
        clock: float,
    ) -> None:
        operations = Operations(MigrationContext.configure(connection))
        for step in plan.steps:
            try:
                operations.invoke(step.op)
            except DBAPIError as exc:
                transaction.rollback()
                cause = str(exc.orig).strip() if exc.orig is not None else str(exc)
                self._record(plan, "failed", started, clock, error=cause, failed_step=step.number)
                raise MigrationFailedError(
                    f"Migration step {step.number} ({step.kind} {step.table}) failed; nothing was changed",
                    step=step.number,
                    sql=step.sql,
                    cause=cause,
                ) from exc

    # ------------------------------------------------------------------ helpers
    def _lock(self, connection: sa.Connection) -> None:
        if self.lock_timeout <= 0:
            got = connection.execute(
                sa.select(sa.func.pg_try_advisory_xact_lock(MIGRATION_LOCK_KEY))
            ).scalar_one()
            if not got:
                raise MigrationLockedError()
            return
        # lock_timeout bounds the wait for the advisory lock; reset it so DDL is unaffected.
        connection.execute(sa.text(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'"))
        savepoint = connection.begin_nested()
        try:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        except OperationalError as exc:
            savepoint.rollback()
            raise MigrationLockedError(
                f"Another migration held the lock for more than {self.lock_timeout:g}s"
            ) from exc
        savepoint.commit()
        connection.execute(sa.text("SET LOCAL lock_timeout = 0"))

    def _ensure_history(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_HISTORY_LOCK_KEY)))
            history.ensure_history_table(connection)

    @property
    def version(self) -> str:
        return self.registry.version()

    def _compute(self, connection: sa.Connection) -> MigrationPlan:
        if not sa.inspect(connection).has_table(history.HISTORY_TABLE):
            return compute_plan(connection, self.registry)
        return compute_plan(
            connection,
            self.registry,
            previously_managed=history.last_managed_tables(connection),
            previously_managed_columns=history.last_managed_columns(connection),
        )

    # ------------------------------------------------------------------ checking
    def check(self) -> None:
        """Raise ``SchemaNotMigratedError`` (DB_4020) unless the database is at this registry's
        version; one read of ``schema_migrations``, no DDL, no lock."""
        with self.engine.connect() as connection:
            found = history.current_version(connection)
        if found != self.version:
            raise SchemaNotMigratedError(expected=self.version, found=found)

    # ------------------------------------------------------------------ rolling back
    def rollback(self, *, allow_data_loss: bool = False, dry_run: bool = False) -> RollbackResult:
        """Undo the last applied migration if every step of it was additive.

        Runs the recorded undo SQL in reverse order in one transaction under the migration lock
        and records a ``rolled_back`` row naming the migration it undid; the database is then at
        the version before it. Raises ``NothingToRollBackError`` (DB_4022),
        ``RollbackRefusedError`` (DB_4021) for a non-additive migration, ``DataLossError``
        (DB_4008) when the added tables or columns already hold data and ``allow_data_loss`` is
        not given, or ``MigrationFailedError`` (DB_4007); on each the schema is unchanged.
        """
        self._ensure_history()
        started = _now()
        clock = time.perf_counter()
        with self.engine.connect() as connection:
            transaction = connection.begin()
            try:
                self._lock(connection)
                target, previous = _rollback_target(history.state_rows(connection))
                undo = [step for step in reversed(target.steps)]
                refused = [f"{s['number']}. {s['kind']} {s['table']}" for s in undo if not s.get("undo_sql")]
                if refused:
                    raise RollbackRefusedError(target.id, refused)
                risks = _rollback_risks(connection, undo)
                if dry_run:
                    transaction.rollback()
                    return RollbackResult(target.id, undo, risks, applied=False, duration_ms=_ms(clock))
                if risks and not allow_data_loss:
                    raise DataLossError(risks)
                for position, step in enumerate(undo, start=1):
                    savepoint = connection.begin_nested()
                    try:
                        connection.exec_driver_sql(step["undo_sql"])
                    except DBAPIError as exc:
                        savepoint.rollback()
                        cause = str(exc.orig).strip() if exc.orig is not None else str(exc)
                        raise MigrationFailedError(
                            f"Rollback step {position} (undo {step['kind']} {step['table']}) failed; "
                            "nothing was changed",
                            step=position,
                            sql=step["undo_sql"],
                            cause=cause,
                        ) from exc
                    savepoint.commit()
                history.record(
                    connection,
                    actor=self.actor,
                    status="rolled_back",
                    services=target.services,
                    tables=target.tables,
                    managed_tables=previous.managed_tables if previous else [],
                    managed_columns=previous.managed_columns if previous else {},
                    registry_version=previous.registry_version if previous else None,
                    steps=[
                        {"number": n, "table": s["table"], "kind": f"undo_{s['kind']}", "sql": s["undo_sql"]}
                        for n, s in enumerate(undo, start=1)
                    ],
                    reverts=target.id,
                    started_at=started,
                    finished_at=_now(),
                    duration_ms=_ms(clock),
                )
                transaction.commit()
            except BaseException:
                if transaction.is_active:
                    transaction.rollback()
                raise
        return RollbackResult(target.id, undo, risks, applied=True, duration_ms=_ms(clock))

    def _row(
        self,
        plan: MigrationPlan,
        status: str,
        started: dt.datetime,
        clock: float,
        *,
        error: str | None = None,
        failed_step: int | None = None,
    ) -> dict[str, object]:
        return {
            "actor": self.actor,
            "status": status,
            "services": sorted(set(plan.impact.owner_services) | set(plan.impact.dependent_services)),
            "tables": plan.impact.affected_tables,
            "managed_tables": plan.managed_tables,
            "steps": [step.to_dict() for step in plan.steps],
            "error": error,
            "failed_step": failed_step,
            "started_at": started,
            "finished_at": _now(),
            "duration_ms": _ms(clock),
            "registry_version": self.version if status == "applied" else None,
            "managed_columns": self.registry.managed_columns() if status == "applied" else None,
        }

    def _record(
        self, plan: MigrationPlan, status: str, started: dt.datetime, clock: float, **extra: object
    ) -> None:
        # Outcomes other than success are written after the rollback, in their own transaction.
        with self.engine.begin() as connection:
            # _row() builds exactly record()'s keyword arguments; as a dict mypy sees only object values.
            history.record(connection, **self._row(plan, status, started, clock, **extra))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """What a ``rollback`` call undid (or would undo, on a dry run)."""

    reverted_id: int
    steps: list[dict[str, object]]
    data_loss_risks: list[str]
    applied: bool
    duration_ms: float

    @property
    def sql(self) -> str:
        return "\n".join(
            f"-- undo step {s['number']}: {s['kind']} {s['table']}\n{s['undo_sql']}" for s in self.steps
        )


def _rollback_target(
    rows: list[history.HistoryEntry],
) -> tuple[history.HistoryEntry, history.HistoryEntry | None]:
    """The newest applied migration not yet undone, and the state row before it."""
    undone: set[int] = set()
    target: history.HistoryEntry | None = None
    for row in rows:  # newest first
        if row.status == "rolled_back":
            if row.reverts is not None:
                undone.add(row.reverts)
            continue
        if row.id in undone:
            continue
        if target is None:
            if not row.steps:
                continue  # a version stamp changes no table; look further back
            target = row
            continue
        return target, row
    if target is None:
        raise NothingToRollBackError()
    return target, None


def _rollback_risks(connection: sa.Connection, undo: list[dict[str, object]]) -> list[str]:
    """Added tables and columns that already hold data (dropping them loses it)."""
    risks = []
    for step in undo:
        table = str(step["table"])
        if step["kind"] == "create_table":
            count = connection.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
            if count:
                risks.append(f"drop table {table} ({count} rows)")
        elif step["kind"] == "add_column":
            sql = str(step["undo_sql"])
            column = sql.rsplit("DROP COLUMN", 1)[-1].strip().strip(";").strip('"')
            count = connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(table)).where(sa.column(column).is_not(None))
            ).scalar_one()
            if count:
                risks.append(f"drop column {table}.{column} ({count} rows with a value)")
    return risks


def check_schema(engine: sa.Engine, registry_dir: Path | None = None) -> None:
    """Raise DB_4020 unless ``engine``'s database is at the registry's version (no DDL)."""
    MigrationCoordinator(engine, SchemaRegistry.load(registry_dir)).check()


def _ms(clock: float) -> float:
    return (time.perf_counter() - clock) * 1000.0


def apply_registry(
    engine: sa.Engine,
    registry_dir: Path | None = None,
    *,
    actor: str = "apply_registry",
    lock_timeout: float = 120.0,
) -> MigrationResult:
    """Create or update every registry table, dependencies first; a no-op when up to date.

    Safe to call at every start-up and from several processes at once: callers wait for the
    lock, and whoever comes second finds nothing to do. Never drops anything.
    """
    registry = SchemaRegistry.load(registry_dir)
    return MigrationCoordinator(engine, registry, actor=actor, lock_timeout=lock_timeout).migrate()
