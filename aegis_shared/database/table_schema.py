"""The shape of one table in the YAML schema registry, as strict pydantic models.

Strict models make a typo or a wrong type an error instead of a silently ignored key or a
coerced value: ``nullable: "no"`` is refused, not read as ``True``.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aegis_shared.database.column_types import ColumnType, parse_column_type

_IDENT = r"^[a-z_][a-z0-9_]{0,62}$"
Identifier = Annotated[str, Field(pattern=_IDENT)]
SemVer = Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]


class ReferentialAction(StrEnum):
    CASCADE = "CASCADE"
    RESTRICT = "RESTRICT"
    SET_NULL = "SET NULL"
    SET_DEFAULT = "SET DEFAULT"
    NO_ACTION = "NO ACTION"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class ColumnSchema(_Strict):
    """One column: a PostgreSQL type string, nullability, keys and a SQL default expression."""

    name: Identifier
    type: str
    # None means "not said": nullable, except on primary-key columns.
    nullable: bool | None = None
    primary_key: bool = False
    unique: bool = False
    # A SQL expression, written as in DDL: "now()", "'[]'::jsonb", "false".
    default: str | bool | int | float | None = None
    description: str | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        parse_column_type(value)  # ValueError becomes a located pydantic error
        return value

    @property
    def is_nullable(self) -> bool:
        return not self.primary_key and self.nullable is not False

    @property
    def column_type(self) -> ColumnType:
        return parse_column_type(self.type)

    @property
    def default_sql(self) -> str | None:
        """The default as SQL text (YAML booleans and numbers rendered the SQL way)."""
        if self.default is None:
            return None
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSchema:
        if self.primary_key and self.nullable is True:
            # Seed files always write nullable: false on keys; saying otherwise is a mistake.
            raise ValueError(f"primary key column {self.name!r} cannot be nullable")
        if self.column_type.serial and not self.primary_key:
            raise ValueError(f"serial column {self.name!r} must be the primary key")
        return self


class ReferenceSchema(_Strict):
    """A foreign key: local ``foreign_key`` column → ``schema`` (table) . ``column``."""

    table: Identifier = Field(alias="schema")
    column: Identifier
    foreign_key: Identifier
    on_delete: ReferentialAction = ReferentialAction.NO_ACTION
    on_update: ReferentialAction = ReferentialAction.NO_ACTION
    description: str | None = None

    @field_validator("on_delete", "on_update", mode="before")
    @classmethod
    def _action(cls, value: Any) -> Any:
        # Enums are given as YAML strings; accept any case but still refuse non-strings.
        if isinstance(value, str):
            return ReferentialAction(" ".join(value.upper().split()))
        return value


class IndexSchema(_Strict):
    name: Identifier
    columns: list[Identifier] = Field(min_length=1)
    unique: bool = False
    # A partial index's predicate, as SQL ("dedupe_key IS NOT NULL"); ON CONFLICT must repeat it.
    where: str | None = None
    # The access method; "gin" for a JSONB or array column searched with ``?|`` / ``@>``.
    using: Literal["btree", "gin"] = "btree"
    # PostgreSQL storage parameters (``WITH (...)``), e.g. ``fastupdate: false`` for a GIN index
    # that is read far more than written: lookups then never scan an unmerged pending list.
    storage: dict[Identifier, str | int | bool] = Field(default_factory=dict)
    description: str | None = None


class VersionEntry(_Strict):
    version: SemVer
    date: dt.date
    changes: str


class TableSchema(_Strict):
    """One registry file: a table, its owning service, columns, references and indexes."""

    name: Identifier
    owner: str = Field(min_length=1)
    version: SemVer
    description: str | None = None
    columns: list[ColumnSchema] = Field(min_length=1)
    references: list[ReferenceSchema] = Field(default_factory=list)
    indexes: list[IndexSchema] = Field(default_factory=list)
    version_history: list[VersionEntry] = Field(default_factory=list)

    def consistency_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Cross-field problems, each with its location in the file, one entry per problem."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        for i, column in enumerate(self.columns):
            if column.name in seen:
                problems.append((("columns", i, "name"), f"duplicate column name {column.name!r}"))
            seen.add(column.name)
        if not any(column.primary_key for column in self.columns):
            problems.append((("columns",), f"table {self.name!r} has no primary key column"))
        for i, ref in enumerate(self.references):
            if ref.foreign_key not in seen:
                problems.append(
                    (
                        ("references", i, "foreign_key"),
                        f"reference foreign_key {ref.foreign_key!r} is not a column of {self.name!r}",
                    )
                )
            elif ref.on_delete is ReferentialAction.SET_NULL and not self.column(ref.foreign_key).is_nullable:
                problems.append(
                    (
                        ("references", i, "on_delete"),
                        f"reference {ref.foreign_key!r} uses ON DELETE SET NULL but the column is NOT NULL",
                    )
                )
        index_names: set[str] = set()
        for i, index in enumerate(self.indexes):
            if index.name in index_names:
                problems.append((("indexes", i, "name"), f"duplicate index name {index.name!r}"))
            index_names.add(index.name)
            problems += [
                (("indexes", i, "columns"), f"index {index.name!r} names unknown column {col!r}")
                for col in index.columns
                if col not in seen
            ]
        return problems + self._history_problems()

    def _history_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """``version_history`` must list strictly increasing versions, ending at ``version``.

        A repeated or decreasing version makes "which change is in 1.2.0?" unanswerable and hides
        a skipped migration; a table version ahead of (or behind) its history means a change
        went unrecorded.
        """
        problems: list[tuple[tuple[str | int, ...], str]] = []
        first_at: dict[tuple[int, ...], int] = {}
        newest: tuple[int, ...] | None = None
        for i, entry in enumerate(self.version_history):
            number = _semver(entry.version)
            if number in first_at:
                problems.append(
                    (
                        ("version_history", i, "version"),
                        f"version_history lists version {entry.version} twice "
                        f"(entries {first_at[number] + 1} and {i + 1})",
                    )
                )
            elif newest is not None and number < newest:
                problems.append(
                    (
                        ("version_history", i, "version"),
                        f"version_history goes back from {'.'.join(map(str, newest))} to {entry.version} "
                        f"(entry {i + 1}); versions must increase",
                    )
                )
            first_at.setdefault(number, i)
            newest = number if newest is None else max(newest, number)
        if self.version_history and _semver(self.version) != _semver(self.version_history[-1].version):
            problems.append(
                (
                    ("version",),
                    f"table version {self.version} is not the newest version_history entry "
                    f"({self.version_history[-1].version}); record the change in version_history",
                )
            )
        return problems

    def column(self, name: str) -> ColumnSchema:
        """The column called ``name``; ``KeyError`` when absent."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def has_column(self, name: str) -> bool:
        return any(column.name == name for column in self.columns)

    @property
    def primary_key(self) -> list[str]:
        return [column.name for column in self.columns if column.primary_key]

    def is_unique_key(self, columns: list[str]) -> bool:
        """True when ``columns`` are the primary key, a unique column or a unique index."""
        wanted = set(columns)
        if wanted == set(self.primary_key):
            return True
        if len(columns) == 1 and self.has_column(columns[0]) and self.column(columns[0]).unique:
            return True
        # A partial unique index does not make a key: PostgreSQL refuses foreign keys onto it.
        return any(
            index.unique and index.where is None and set(index.columns) == wanted for index in self.indexes
        )

    def to_yaml_dict(self) -> dict[str, Any]:
        """A plain dict in the file format (aliases, no empty defaults), for saving."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        # JSON mode renders enums as plain strings; dates go back to dates so YAML writes them bare.
        for entry in data.get("version_history", []):
            entry["date"] = dt.date.fromisoformat(entry["date"])
        return data


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def identifier_ok(name: str) -> bool:
    return re.match(_IDENT, name) is not None
