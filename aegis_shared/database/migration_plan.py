"""The change set between the schema registry and a database, as ordered, classified steps.

Diffing is alembic's: ``produce_migrations`` compares the registry's SQLAlchemy metadata with
what a live connection reflects. This module only flattens alembic's operations into steps,
orders them by the registry's dependency order, renders each one's SQL, and says which steps
lose data and which services they touch.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.operations import ops as alembic_ops
from sqlalchemy.dialects import postgresql

from aegis_shared.database.column_types import is_widening, type_from_sqlalchemy
from aegis_shared.database.schema_registry import SchemaRegistry

# Step phases: constraints and indexes that are going away first, then everything that adds
# or changes (tables in dependency order), then column drops, then table drops.
_PHASE_DROP_CONSTRAINTS = 0
_PHASE_BUILD = 1
_PHASE_DROP_COLUMNS = 2
_PHASE_DROP_TABLES = 3


@dataclass(frozen=True, slots=True)
class MigrationStep:
    """One DDL operation on one table."""

    number: int
    table: str
    kind: str
    sql: str
    service: str | None
    data_loss: str | None
    op: alembic_ops.MigrateOperation = field(repr=False, compare=False)
    # The SQL that undoes an additive step (None for anything else): what rollback runs.
    undo_sql: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "table": self.table,
            "kind": self.kind,
            "sql": self.sql,
            "service": self.service,
            "data_loss": self.data_loss,
            "undo_sql": self.undo_sql,
        }


@dataclass(frozen=True, slots=True)
class ImpactReport:
    """Who and what a change set touches, and what it would destroy."""

    affected_tables: list[str]
    owner_services: list[str]
    dependent_services: list[str]
    data_loss_risks: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "affected_tables": self.affected_tables,
            "owner_services": self.owner_services,
            "dependent_services": self.dependent_services,
            "data_loss_risks": self.data_loss_risks,
        }

    def to_text(self) -> str:
        def line(label: str, items: list[str]) -> str:
            return f"{label}: {', '.join(items) if items else '(none)'}"

        return "\n".join(
            [
                line("Affected tables", self.affected_tables),
                line("Owner services", self.owner_services),
                line("Dependent services", self.dependent_services),
                line("Data-loss risks", self.data_loss_risks),
            ]
        )


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """Ordered steps plus their impact; empty when the database already matches."""

    steps: list[MigrationStep]
    impact: ImpactReport
    managed_tables: list[str]

    @property
    def is_empty(self) -> bool:
        return not self.steps

    @property
    def loses_data(self) -> bool:
        return bool(self.impact.data_loss_risks)

    @property
    def sql(self) -> str:
        """Every step's SQL, numbered, as a dry run prints it."""
        return "\n".join(f"-- step {s.number}: {s.kind} {s.table}\n{s.sql}" for s in self.steps)


def render_sql(op: alembic_ops.MigrateOperation) -> str:
    """The PostgreSQL SQL alembic would run for ``op`` (offline mode, literal values)."""
    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name="postgresql",
        opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
    )
    Operations(context).invoke(op)
    return buffer.getvalue().strip()


_TABLE_LEVEL_OPS = (
    alembic_ops.CreateIndexOp,
    alembic_ops.DropIndexOp,
    alembic_ops.CreateTableOp,
    alembic_ops.DropTableOp,
    alembic_ops.AddConstraintOp,
    alembic_ops.DropConstraintOp,
)


def _flatten(ops: Iterable[alembic_ops.MigrateOperation]) -> list[tuple[str, alembic_ops.MigrateOperation]]:
    flat: list[tuple[str, alembic_ops.MigrateOperation]] = []
    for op in ops:
        if isinstance(op, alembic_ops.ModifyTableOps):
            flat += [(op.table_name, inner) for inner in op.ops]
        elif isinstance(op, _TABLE_LEVEL_OPS):
            # Every concrete op of these kinds names its table (AddConstraintOp only via subclasses).
            table_name = getattr(op, "table_name", None)
            if not isinstance(table_name, str):  # pragma: no cover - as for unknown op types below
                raise TypeError(f"alembic operation {type(op).__name__} names no table")
            flat.append((table_name, op))
        else:  # pragma: no cover - alembic adds op types rarely; fail loudly rather than skip
            raise TypeError(f"unsupported alembic operation {type(op).__name__}")
    return flat


def _kind(op: alembic_ops.MigrateOperation) -> str:
    # CreateIndexOp -> create_index, AddColumnOp -> add_column.
    name = type(op).__name__.removesuffix("Op")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _data_loss(table: str, op: alembic_ops.MigrateOperation, row_counts: dict[str, int]) -> str | None:
    if isinstance(op, alembic_ops.DropTableOp):
        return f"drop table {table} ({row_counts.get(table, 0)} rows)"
    if isinstance(op, alembic_ops.DropColumnOp):
        return f"drop column {table}.{op.column_name} ({row_counts.get(table, 0)} rows)"
    if (
        isinstance(op, alembic_ops.AlterColumnOp)
        and op.modify_type is not None
        and op.existing_type is not None
    ):
        old, new = type_from_sqlalchemy(op.existing_type), type_from_sqlalchemy(op.modify_type)
        if not is_widening(old, new):
            return f"narrowing type change {table}.{op.column_name}: {old} -> {new}"
    return None


_ADDITIVE_OPS = (
    alembic_ops.CreateTableOp,
    alembic_ops.AddColumnOp,
    alembic_ops.CreateIndexOp,
    alembic_ops.AddConstraintOp,
)


def _undo_sql(op: alembic_ops.MigrateOperation) -> str | None:
    """The reverse of an additive step, rendered now while alembic still has the op."""
    if not isinstance(op, _ADDITIVE_OPS):
        return None
    return render_sql(op.reverse())


def _op_columns(op: alembic_ops.MigrateOperation) -> set[str]:
    """Column names a drop-index or drop-constraint op covers (empty when unknown)."""
    try:
        if isinstance(op, alembic_ops.DropIndexOp):
            return {c.name for c in op.to_index().columns if isinstance(c, sa.Column)} | {
                str(e) for e in getattr(op.to_index(), "expressions", ()) if isinstance(e, str)
            }
        if isinstance(op, alembic_ops.DropConstraintOp):
            constraint = op.to_constraint()
            return {c.name for c in getattr(constraint, "columns", ())}
    except Exception:
        return set()
    return set()


def _foreign(
    table: str,
    op: alembic_ops.MigrateOperation,
    registry: SchemaRegistry,
    previously_managed_columns: Mapping[str, Iterable[str]],
) -> bool:
    """True for a drop of a column (or its index) that neither the registry nor an earlier
    migration ever managed: another team added it, so it is left alone."""
    if table not in registry:
        return False
    ours = {c.name for c in registry.get(table).columns} | set(previously_managed_columns.get(table, ()))
    if isinstance(op, alembic_ops.DropColumnOp):
        return op.column_name not in ours
    if isinstance(op, alembic_ops.DropIndexOp | alembic_ops.DropConstraintOp):
        columns = _op_columns(op)
        return bool(columns) and not columns <= ours
    return False


def _prepare(op: alembic_ops.MigrateOperation) -> None:
    # A type change PostgreSQL cannot cast implicitly needs USING; an explicit cast is what a
    # person would write, and it fails loudly (inside the transaction) on values that do not fit.
    if isinstance(op, alembic_ops.AlterColumnOp) and op.modify_type is not None:
        # SQLAlchemy's dialect constructors carry no annotations.
        target = op.modify_type.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
        op.kw.setdefault("postgresql_using", f'"{op.column_name}"::{target}')


def _phase(op: alembic_ops.MigrateOperation) -> int:
    if isinstance(op, alembic_ops.DropIndexOp | alembic_ops.DropConstraintOp):
        return _PHASE_DROP_CONSTRAINTS
    if isinstance(op, alembic_ops.DropColumnOp):
        return _PHASE_DROP_COLUMNS
    if isinstance(op, alembic_ops.DropTableOp):
        return _PHASE_DROP_TABLES
    return _PHASE_BUILD


def _reflected_drop_order(connection: sa.Connection, tables: list[str]) -> list[str]:
    """Tables to drop, referencing tables before the tables they reference."""
    inspector = sa.inspect(connection)
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(tables)
    for name in tables:
        for fk in inspector.get_foreign_keys(name):
            if fk["referred_table"] in tables and fk["referred_table"] != name:
                graph.add_edge(name, fk["referred_table"])
    return list(nx.lexicographical_topological_sort(graph))


def _row_counts(connection: sa.Connection, tables: Iterable[str]) -> dict[str, int]:
    counts = {}
    for name in tables:
        counts[name] = connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
    return counts


def compute_plan(
    connection: sa.Connection,
    registry: SchemaRegistry,
    *,
    previously_managed: Iterable[str] = (),
    previously_managed_columns: Mapping[str, Iterable[str]] | None = None,
) -> MigrationPlan:
    """Compare ``registry`` with what ``connection`` sees and return the ordered plan.

    Only tables the registry names, or that an earlier migration managed (so dropping them
    from the registry is a drop), are compared; other tables in the database are left alone.
    """
    order = registry.migration_order()
    managed = set(order) | set(previously_managed)
    metadata = registry.metadata()

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return name in managed if type_ == "table" else True

    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "include_name": include_name, "target_metadata": metadata},
    )
    script = produce_migrations(context, metadata)
    if script.upgrade_ops is None:  # produce_migrations always sets it; alembic types it optional
        raise RuntimeError("alembic produced no upgrade operations")
    previous_columns = previously_managed_columns or {}
    flat = [
        (table, op)
        for table, op in _flatten(script.upgrade_ops.ops)
        if not _foreign(table, op, registry, previous_columns)
    ]

    dropped = [t for t, op in flat if isinstance(op, alembic_ops.DropTableOp)]
    position = {name: i for i, name in enumerate(order)}
    drop_position = {name: i for i, name in enumerate(_reflected_drop_order(connection, dropped))}
    lossy_tables = {t for t, op in flat if isinstance(op, alembic_ops.DropTableOp | alembic_ops.DropColumnOp)}
    row_counts = _row_counts(connection, lossy_tables)

    def sort_key(item: tuple[int, tuple[str, alembic_ops.MigrateOperation]]) -> tuple[int, int, int]:
        original_index, (table, op) = item
        phase = _phase(op)
        if phase == _PHASE_DROP_TABLES:
            return (phase, drop_position.get(table, 0), original_index)
        if phase == _PHASE_DROP_CONSTRAINTS:
            # Dependents lose their constraints before what they point at.
            return (phase, -position.get(table, -1), original_index)
        return (phase, position.get(table, len(position)), original_index)

    steps = []
    for number, (_, (table, op)) in enumerate(sorted(enumerate(flat), key=sort_key), start=1):
        _prepare(op)
        owner = registry.get(table).owner if table in registry else None
        steps.append(
            MigrationStep(
                number=number,
                table=table,
                kind=_kind(op),
                sql=render_sql(op),
                service=owner,
                data_loss=_data_loss(table, op, row_counts),
                op=op,
                undo_sql=_undo_sql(op),
            )
        )
    return MigrationPlan(steps=steps, impact=_impact(registry, steps), managed_tables=sorted(set(order)))


def _impact(registry: SchemaRegistry, steps: list[MigrationStep]) -> ImpactReport:
    tables = sorted({step.table for step in steps})
    owners = sorted({step.service for step in steps if step.service})
    dependents: set[str] = set()
    for table in tables:
        if table in registry:
            dependents.update(registry.dependent_services(table))
    return ImpactReport(
        affected_tables=tables,
        owner_services=owners,
        dependent_services=sorted(dependents - set(owners)),
        data_loss_risks=[step.data_loss for step in steps if step.data_loss],
    )
