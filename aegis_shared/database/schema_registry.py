"""The YAML database schema registry: load, validate, analyse and turn into metadata.

Each ``aegis_shared/schemas/db/<table>.yaml`` file describes one table with its owning service. The registry
validates every file (strict pydantic, with file and line in each problem), checks references
across files, and answers graph questions with networkx: which tables depend on which, which
services a table change touches, every elementary cycle, and a deterministic
dependencies-first order. ``metadata()`` turns it into SQLAlchemy metadata, which the
migration coordinator compares with a live database through alembic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pydantic
import sqlalchemy as sa
import yaml
from sqlalchemy.sql.schema import SchemaItem

from aegis_shared.database.errors import SchemaDefinitionError, SchemaProblem, SchemaReferenceError
from aegis_shared.database.table_schema import ReferentialAction, TableSchema
from aegis_shared.database.yaml_source import LocatedDocument, load_located
from aegis_shared.schemas import bundled_path

# Deterministic constraint names, so the registry and a reflected database name things alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def default_registry_dir() -> Path:
    """``aegis_shared/schemas/db``: the registry ships inside the package (importlib.resources)."""
    return bundled_path("db")


def _format_loc(loc: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def _problems_from_pydantic(
    file: str, doc: LocatedDocument, exc: pydantic.ValidationError
) -> list[SchemaProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = error["msg"]
        if error["type"] == "missing":
            message = f"missing required key {loc[-1]!r}"
        elif error["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        problems.append(SchemaProblem(file, doc.line_of(loc), _format_loc(loc), message))
    return problems


def parse_table_text(text: str, file: str) -> tuple[TableSchema | None, list[SchemaProblem]]:
    """Parse one schema file's text into a table, or return every problem found in it."""
    try:
        doc = load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, [SchemaProblem(file, line, "", f"invalid YAML: {getattr(exc, 'problem', exc)}")]
    problems = [
        SchemaProblem(file, line, _format_loc(path), f"duplicate key {path[-1]!r}")
        for path, line in doc.duplicate_keys
    ]
    if not isinstance(doc.data, dict):
        return None, [*problems, SchemaProblem(file, 1, "", "a schema file must be a YAML mapping")]
    try:
        table = TableSchema.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        return None, problems + _problems_from_pydantic(file, doc, exc)
    problems += [
        SchemaProblem(file, doc.line_of(loc), _format_loc(loc), message)
        for loc, message in table.consistency_problems()
    ]
    return (None if problems else table), problems


class SchemaRegistry:
    """Every table of the registry, keyed by name, with the file each came from."""

    def __init__(
        self,
        tables: Iterable[TableSchema] = (),
        *,
        sources: dict[str, str] | None = None,
        lines: dict[str, dict[tuple[str | int, ...], int]] | None = None,
    ) -> None:
        self._tables: dict[str, TableSchema] = {}
        self._sources: dict[str, str] = dict(sources or {})
        # Line of each key path per table, so cross-file problems can name a line too.
        self._lines: dict[str, dict[tuple[str | int, ...], int]] = dict(lines or {})
        for table in tables:
            self._tables[table.name] = table

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def load(cls, directory: Path | str | None = None, *, check_references: bool = True) -> SchemaRegistry:
        """Load every ``*.yaml`` file; raise one error listing every problem in every file.

        Definition problems (syntax, keys, types, duplicates) raise ``SchemaDefinitionError``;
        when all files are well formed, cross-file reference problems raise
        ``SchemaReferenceError``. Nothing is returned half-loaded.
        """
        directory = Path(directory) if directory is not None else default_registry_dir()
        if not directory.is_dir():
            raise SchemaDefinitionError(
                [SchemaProblem(str(directory), None, "", "registry directory not found")]
            )
        tables: list[TableSchema] = []
        sources: dict[str, str] = {}
        problems: list[SchemaProblem] = []
        lines: dict[str, dict[tuple[str | int, ...], int]] = {}
        for path in sorted(directory.glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            table, file_problems = parse_table_text(text, str(path))
            problems += file_problems
            if table is None:
                continue
            if table.name in sources:
                problems.append(
                    SchemaProblem(
                        str(path), 1, "name", f"table {table.name!r} is also defined in {sources[table.name]}"
                    )
                )
                continue
            tables.append(table)
            sources[table.name] = str(path)
            lines[table.name] = load_located(text).lines
        if problems:
            raise SchemaDefinitionError(problems)
        registry = cls(tables, sources=sources, lines=lines)
        if check_references:
            registry.check_references()
        return registry

    def register(self, table: TableSchema, *, replace: bool = False) -> None:
        """Add (or with ``replace`` update) a table; the registry is unchanged if it is invalid."""
        file = self._sources.get(table.name, f"<{table.name}>")
        problems = [
            SchemaProblem(file, None, _format_loc(loc), message)
            for loc, message in table.consistency_problems()
        ]
        if table.name in self._tables and not replace:
            problems.append(SchemaProblem(file, None, "name", f"table {table.name!r} is already registered"))
        if problems:
            raise SchemaDefinitionError(problems)
        candidate = SchemaRegistry(
            [*(t for n, t in self._tables.items() if n != table.name), table],
            sources={**self._sources, table.name: file},
            lines={name: found for name, found in self._lines.items() if name != table.name},
        )
        candidate.check_references()
        self._tables[table.name] = table
        self._sources[table.name] = file
        self._lines.pop(table.name, None)  # the file no longer describes this table

    def save(self, directory: Path | str) -> list[Path]:
        """Write one ``<table>.yaml`` per table; returns the paths written."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for table in self:
            path = directory / f"{table.name}.yaml"
            path.write_text(
                yaml.safe_dump(table.to_yaml_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8"
            )
            written.append(path)
        return written

    # ------------------------------------------------------------------ look-up
    def __iter__(self) -> Iterator[TableSchema]:
        return iter(self._tables[name] for name in sorted(self._tables))

    def __len__(self) -> int:
        return len(self._tables)

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    @property
    def names(self) -> list[str]:
        return sorted(self._tables)

    def get(self, name: str) -> TableSchema:
        """The table called ``name``; ``KeyError`` naming it when absent."""
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"table {name!r} is not in the schema registry") from None

    def version(self) -> str:
        """A fingerprint of everything that shapes the database (not the version history).

        ``schema_migrations`` records it per migration, and resources compare it with the loaded
        registry to tell whether the database is at the expected version.
        """
        shape = {table.name: table.model_dump(mode="json", exclude={"version_history"}) for table in self}
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True, ensure_ascii=False).encode())
        return digest.hexdigest()[:16]

    def managed_columns(self) -> dict[str, list[str]]:
        """Every column of every table, as ``schema_migrations.managed_columns`` records them."""
        return {table.name: [column.name for column in table.columns] for table in self}

    def source_of(self, name: str) -> str:
        return self._sources.get(name, f"<{name}>")

    # ------------------------------------------------------------------ graph
    def dependency_graph(self) -> nx.DiGraph[str]:
        """Edges run from a referenced table to the table that references it (creation order)."""
        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(self._tables)
        for table in self._tables.values():
            for ref in table.references:
                if ref.table in self._tables:
                    graph.add_edge(ref.table, table.name)
        return graph

    def dependencies(self, name: str) -> list[str]:
        """Tables ``name`` references directly (excluding itself)."""
        return sorted({ref.table for ref in self.get(name).references} - {name})

    def dependents(self, name: str) -> list[str]:
        """Tables that reference ``name`` directly or through other tables."""
        self.get(name)
        return sorted(nx.descendants(self.dependency_graph(), name) - {name})

    def dependent_services(self, name: str) -> list[str]:
        """Owner services of every table that depends on ``name``, other than its own owner."""
        owner = self.get(name).owner
        return sorted({self._tables[t].owner for t in self.dependents(name)} - {owner})

    def cycles(self) -> list[list[str]]:
        """Every elementary reference cycle, each rotated to start at its smallest name, sorted.

        A self-reference (a tree stored in one table) is reported as a one-table cycle.
        """
        found = []
        for cycle in nx.simple_cycles(self.dependency_graph()):
            # networkx walks edges referenced → referencing; report them as "references" chains.
            chain = list(reversed(cycle))
            start = chain.index(min(chain))
            found.append(chain[start:] + chain[:start])
        return sorted(found, key=lambda c: (len(c), c))

    def migration_order(self) -> list[str]:
        """Every table, dependencies first, ties broken by name; refuses cyclic references.

        Self-references do not constrain the order (PostgreSQL creates them with the table).
        """
        graph = self.dependency_graph()
        graph.remove_edges_from(list(nx.selfloop_edges(graph)))
        cycles = [c for c in self.cycles() if len(c) > 1]
        if cycles:
            raise SchemaReferenceError(
                [
                    SchemaProblem(
                        self.source_of(c[0]), None, c[0], "reference cycle: " + " -> ".join([*c, c[0]])
                    )
                    for c in cycles
                ]
            )
        return list(nx.lexicographical_topological_sort(graph))

    # ------------------------------------------------------------------ references
    def reference_problems(self) -> list[SchemaProblem]:
        """Every reference to a missing table or column, a different type or a non-unique key."""
        problems = []
        for table in self:
            file = self.source_of(table.name)
            table_lines = self._lines.get(table.name, {})
            for i, ref in enumerate(table.references):
                loc = f"references.{i}"
                line = table_lines.get(("references", i))
                where = f"{table.name}.{ref.foreign_key} -> {ref.table}.{ref.column}"
                target = self._tables.get(ref.table)
                if target is None:
                    problems.append(
                        SchemaProblem(file, line, loc, f"{where}: table {ref.table!r} does not exist")
                    )
                    continue
                if not target.has_column(ref.column):
                    problems.append(
                        SchemaProblem(
                            file, line, loc, f"{where}: column {ref.column!r} does not exist in {ref.table!r}"
                        )
                    )
                    continue
                if not table.has_column(ref.foreign_key):
                    continue  # already a definition problem of this file
                local_type = table.column(ref.foreign_key).column_type
                target_type = target.column(ref.column).column_type
                if local_type.family != target_type.family:
                    problems.append(
                        SchemaProblem(
                            file, line, loc, f"{where}: type {local_type} does not match {target_type}"
                        )
                    )
                if not target.is_unique_key([ref.column]):
                    problems.append(
                        SchemaProblem(
                            file, line, loc, f"{where}: target column is not a primary key or unique"
                        )
                    )
        return problems

    def check_references(self) -> None:
        """Raise ``SchemaReferenceError`` listing every reference problem, if there are any."""
        problems = self.reference_problems()
        if problems:
            raise SchemaReferenceError(problems)

    # ------------------------------------------------------------------ SQLAlchemy
    def metadata(self) -> sa.MetaData:
        """SQLAlchemy metadata for every table, with deterministic constraint names."""
        metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
        for name in self.migration_order():
            table = self._tables[name]
            items: list[SchemaItem] = []
            for column in table.columns:
                ctype = column.column_type
                default = column.default_sql
                items.append(
                    sa.Column(
                        column.name,
                        ctype.to_sqlalchemy(),
                        primary_key=column.primary_key,
                        nullable=column.is_nullable,
                        # SERIAL only where the file says so; integer keys are otherwise plain.
                        autoincrement=ctype.serial if column.primary_key else "auto",
                        server_default=sa.text(default) if default is not None else None,
                        comment=column.description,
                    )
                )
                if column.unique and not column.primary_key:
                    items.append(sa.UniqueConstraint(column.name))
            for ref in table.references:
                items.append(
                    sa.ForeignKeyConstraint(
                        [ref.foreign_key],
                        [f"{ref.table}.{ref.column}"],
                        # NO ACTION is PostgreSQL's default and reflects as None.
                        ondelete=None
                        if ref.on_delete is ReferentialAction.NO_ACTION
                        else ref.on_delete.value,
                        onupdate=None
                        if ref.on_update is ReferentialAction.NO_ACTION
                        else ref.on_update.value,
                    )
                )
            for index in table.indexes:
                options: dict[str, Any] = {"postgresql_where": sa.text(index.where)} if index.where else {}
                if index.using != "btree":
                    options["postgresql_using"] = index.using
                if index.storage:
                    options["postgresql_with"] = {
                        key: ("on" if value else "off") if isinstance(value, bool) else value
                        for key, value in index.storage.items()
                    }
                items.append(sa.Index(index.name, *index.columns, unique=index.unique, **options))
            sa.Table(name, metadata, *items, comment=table.description)
        return metadata
