"""PostgreSQL type strings from the YAML registry, parsed into SQLAlchemy types.

The registry spells types the way a person writes DDL (``VARCHAR(255)``, ``TIMESTAMPTZ``,
``TEXT[]``, ``BIGSERIAL``). Parsing reuses the PostgreSQL dialect's own name table
(``ischema_names``, the one SQLAlchemy uses to reflect columns) so the registry and a reflected
database agree on what a type is; only common DDL aliases are added here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.base import ischema_names

# DDL spellings that are not in ischema_names, mapped to the canonical name there.
_ALIASES: dict[str, str] = {
    "varchar": "character varying",
    "char": "character",
    "int": "integer",
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "bool": "boolean",
    "decimal": "numeric",
    "float8": "double precision",
    "float4": "real",
    "timestamptz": "timestamp with time zone",
    "timetz": "time with time zone",
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
}
_SERIALS = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial"})

_TYPE_RE = re.compile(
    r"^\s*(?P<base>[a-z][a-z0-9 _\"]*?)\s*(?:\((?P<args>[0-9 ,]*)\))?\s*(?P<array>(?:\[\])*)\s*$"
)

# Families whose members PostgreSQL accepts on both sides of a foreign key (it has cross-type
# btree operators for them); anything else must match exactly.
_FAMILIES: dict[str, str] = {
    "text": "string",
    "character varying": "string",
    "character": "string",
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
}

# Integer widths, for telling a widening type change from a narrowing one.
_INT_RANK = {"smallint": 1, "integer": 2, "bigint": 3}


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A parsed registry type: canonical base name, numeric arguments, array depth, serial flag."""

    base: str
    args: tuple[int, ...] = ()
    array_dims: int = 0
    serial: bool = False

    @property
    def family(self) -> str:
        """The foreign-key compatibility family (``base`` itself when it has none)."""
        return "array:" * self.array_dims + _FAMILIES.get(self.base, self.base)

    def to_sqlalchemy(self) -> sa.types.TypeEngine[Any]:
        """The SQLAlchemy type; serial becomes an autoincrementing integer primary key."""
        type_cls = ischema_names[self.base]
        if self.base == "timestamp with time zone" or self.base == "time with time zone":
            inner: sa.types.TypeEngine[Any] = type_cls(timezone=True)
        elif self.base in ("timestamp", "timestamp without time zone", "time", "time without time zone"):
            inner = type_cls(timezone=False)
        elif self.args:
            inner = type_cls(*self.args)
        else:
            inner = type_cls()
        if self.array_dims:
            return postgresql.ARRAY(inner, dimensions=self.array_dims if self.array_dims > 1 else None)
        return inner

    def __str__(self) -> str:
        arg_text = f"({','.join(map(str, self.args))})" if self.args else ""
        return f"{self.base.upper()}{arg_text}{'[]' * self.array_dims}"


def parse_column_type(text: str) -> ColumnType:
    """Parse a DDL type string; raises ``ValueError`` naming the type when it is unknown."""
    match = _TYPE_RE.match(text.lower())
    if match is None:
        raise ValueError(f"cannot parse column type {text!r}")
    raw_base = " ".join(match["base"].split())
    base = _ALIASES.get(raw_base, raw_base)
    if base not in ischema_names or base == "_array":
        raise ValueError(f"unknown PostgreSQL column type {text!r}")
    args = tuple(int(part) for part in match["args"].split(",") if part.strip()) if match["args"] else ()
    array_dims = len(match["array"]) // 2
    return ColumnType(base=base, args=args, array_dims=array_dims, serial=raw_base in _SERIALS)


def is_widening(old: ColumnType, new: ColumnType) -> bool:
    """True when every value of ``old`` fits ``new`` unchanged, so altering loses nothing."""
    if old == new or (old.base == new.base and old.args == new.args and old.array_dims == new.array_dims):
        return True
    if old.array_dims != new.array_dims:
        return False
    if old.base in _INT_RANK and new.base in _INT_RANK:
        return _INT_RANK[new.base] >= _INT_RANK[old.base]
    if new.base == "text" and old.base in ("character varying", "character", "text"):
        return True
    if old.base == new.base == "character varying":
        # VARCHAR without a length is unbounded.
        return not new.args or (bool(old.args) and new.args[0] >= old.args[0])
    if old.base == new.base == "numeric":
        if not new.args:
            return True
        if not old.args:
            return False
        old_p, old_s = (*old.args, 0)[:2]
        new_p, new_s = (*new.args, 0)[:2]
        return new_s >= old_s and (new_p - new_s) >= (old_p - old_s)
    if old.base in _INT_RANK and new.base == "numeric":
        return not new.args
    return bool(old.base == "real" and new.base == "double precision")


def type_from_sqlalchemy(type_: sa.types.TypeEngine[Any]) -> ColumnType:
    """Best-effort inverse of :meth:`ColumnType.to_sqlalchemy`, for reflected columns."""
    # SQLAlchemy's dialect constructors carry no annotations.
    compiled = type_.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    try:
        return parse_column_type(compiled)
    except ValueError:
        return ColumnType(base=compiled.lower())
