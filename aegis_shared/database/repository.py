"""A generic repository over one SQLAlchemy Core table: the common reads and writes, done once.

Rows are plain dicts, because the tables come from the YAML registry rather than ORM classes.
Every call runs in :func:`~aegis_shared.database.transaction.transaction`, so given an engine
it is atomic on its own and given a connection inside a transaction it nests as a savepoint.
Constraint violations become coded errors (DB_4002 duplicate, DB_4005 constraint) and a
missing row DB_4001.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg.errors
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aegis_shared.database.transaction import async_transaction, transaction
from aegis_shared.errors import DatabaseError, ValidationError

Row = dict[str, Any]
Filters = Mapping[str, Any]
T = TypeVar("T")

# PostgreSQL accepts at most 65535 bind parameters per statement.
_MAX_PARAMS = 65_000


@dataclass(frozen=True, slots=True)
class Page:
    """One keyset page; pass ``next_cursor`` as ``after`` to get the next one (None: last page)."""

    items: list[Row]
    next_cursor: tuple[Any, ...] | None


class Repository:
    """Reads and writes on ``table`` through ``bind`` (an engine or a connection)."""

    def __init__(
        self, table: sa.Table, bind: sa.Engine | sa.Connection, *, soft_delete_column: str = "deleted_at"
    ) -> None:
        self.table = table
        self.bind = bind
        self._pk = list(table.primary_key.columns)
        if not self._pk:
            raise ValidationError("VALID_3001", f"table {table.name!r} has no primary key")
        self._soft = table.c.get(soft_delete_column)

    # ------------------------------------------------------------------ helpers
    def _run(self, work: Callable[[sa.Connection], T]) -> T:
        try:
            with transaction(self.bind) as connection:
                return work(connection)
        except IntegrityError as exc:
            raise _integrity_error(self.table.name, exc) from exc

    def _key_clause(self, key: Any) -> sa.ColumnElement[bool]:
        values = key if isinstance(key, tuple) else (key,)
        if len(values) != len(self._pk):
            raise ValidationError("VALID_3001", f"{self.table.name} key needs {len(self._pk)} value(s)")
        return sa.and_(*(column == value for column, value in zip(self._pk, values, strict=True)))

    def _column(self, name: str) -> sa.Column[Any]:
        column = self.table.c.get(name)
        if column is None:
            raise ValidationError("VALID_3001", f"{self.table.name} has no column {name!r}")
        return column

    def _where(self, filters: Filters | None, include_deleted: bool) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = []
        for name, value in (filters or {}).items():
            column = self._column(name)
            if value is None:
                clauses.append(column.is_(None))
            elif isinstance(value, list | tuple | set | frozenset):
                clauses.append(column.in_(list(value)))
            else:
                clauses.append(column == value)
        if self._soft is not None and not include_deleted:
            clauses.append(self._soft.is_(None))
        return clauses

    def _check_columns(self, values: Mapping[str, Any]) -> None:
        for name in values:
            self._column(name)

    # ------------------------------------------------------------------ reads
    def get(self, key: Any, *, include_deleted: bool = False) -> Row | None:
        """The row with primary key ``key`` (a tuple for composite keys), or None."""
        query = sa.select(self.table).where(self._key_clause(key), *self._where(None, include_deleted))
        return self._run(lambda c: _one_or_none(c.execute(query)))

    def get_many(self, keys: Iterable[Any], *, include_deleted: bool = False) -> list[Row]:
        """Rows for ``keys`` that exist, in key order."""
        keys = list(keys)
        if not keys:
            return []
        clause = sa.or_(*(self._key_clause(k) for k in keys)) if len(self._pk) > 1 else self._pk[0].in_(keys)
        query = sa.select(self.table).where(clause, *self._where(None, include_deleted)).order_by(*self._pk)
        return self._run(lambda c: [dict(r._mapping) for r in c.execute(query)])

    def count(self, filters: Filters | None = None, *, include_deleted: bool = False) -> int:
        query = (
            sa.select(sa.func.count()).select_from(self.table).where(*self._where(filters, include_deleted))
        )
        return self._run(lambda c: c.execute(query).scalar_one())

    def exists(self, filters: Filters | None = None, *, include_deleted: bool = False) -> bool:
        inner = sa.select(sa.literal(1)).select_from(self.table).where(*self._where(filters, include_deleted))
        return self._run(lambda c: bool(c.execute(sa.select(sa.exists(inner))).scalar_one()))

    def page(
        self,
        *,
        filters: Filters | None = None,
        order_by: str | None = None,
        after: Sequence[Any] | None = None,
        limit: int = 100,
        descending: bool = False,
        include_deleted: bool = False,
    ) -> Page:
        """A keyset page ordered by ``order_by`` then the primary key (stable under inserts).

        Unlike OFFSET, keyset pages cost the same at any depth and never skip or repeat rows
        when rows are added between calls. ``order_by`` must be NOT NULL for that to hold.
        """
        if limit < 1:
            raise ValidationError("VALID_3004", "limit must be at least 1")
        keys = [self._column(order_by)] if order_by and order_by not in {c.name for c in self._pk} else []
        keys += self._pk
        clauses = self._where(filters, include_deleted)
        if after is not None:
            if len(after) != len(keys):
                raise ValidationError("VALID_3003", f"cursor must have {len(keys)} value(s)")
            row_key, cursor = sa.tuple_(*keys), sa.tuple_(*(sa.literal(v) for v in after))
            clauses.append(row_key < cursor if descending else row_key > cursor)
        ordering = [k.desc() if descending else k.asc() for k in keys]
        query = sa.select(self.table).where(*clauses).order_by(*ordering).limit(limit + 1)
        rows = self._run(lambda c: [dict(r._mapping) for r in c.execute(query)])
        has_more = len(rows) > limit
        rows = rows[:limit]
        cursor_out = tuple(rows[-1][k.name] for k in keys) if has_more else None
        return Page(items=rows, next_cursor=cursor_out)

    # ------------------------------------------------------------------ writes
    def create(self, values: Mapping[str, Any]) -> Row:
        """Insert one row; returns it with server defaults filled in. Duplicate key: DB_4002."""
        self._check_columns(values)
        statement = sa.insert(self.table).values(dict(values)).returning(*self.table.c)
        return self._run(lambda c: dict(c.execute(statement).one()._mapping))

    def bulk_upsert(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        conflict_columns: Sequence[str] | None = None,
        update_columns: Sequence[str] | None = None,
    ) -> int:
        """Insert or update many rows with ``INSERT … ON CONFLICT``; returns rows written.

        ``conflict_columns`` (default: the primary key) must match a unique index or
        constraint. ``update_columns`` defaults to every given column outside the conflict
        key; an empty list means "insert new rows, leave existing ones alone".
        """
        if not rows:
            return 0
        columns = list(rows[0])
        for row in rows:
            if list(row) != columns:
                raise ValidationError("VALID_3001", "every upserted row must have the same columns")
        self._check_columns(rows[0])
        conflict = list(conflict_columns) if conflict_columns else [c.name for c in self._pk]
        for name in conflict:
            self._column(name)
        updates = (
            [c for c in columns if c not in conflict] if update_columns is None else list(update_columns)
        )
        batch = max(1, _MAX_PARAMS // max(1, len(columns)))

        def work(connection: sa.Connection) -> int:
            written = 0
            for start in range(0, len(rows), batch):
                statement = pg_insert(self.table).values([dict(r) for r in rows[start : start + batch]])
                if updates:
                    statement = statement.on_conflict_do_update(
                        index_elements=conflict, set_={name: statement.excluded[name] for name in updates}
                    )
                else:
                    statement = statement.on_conflict_do_nothing(index_elements=conflict)
                # Counting RETURNING rows is exact; rowcount is -1 for multi-row VALUES batches.
                written += len(connection.execute(statement.returning(*self._pk)).all())
            return written

        return self._run(work)

    def update(self, key: Any, values: Mapping[str, Any], *, include_deleted: bool = False) -> Row:
        """Update one row and return it; DB_4001 when it does not exist (or is soft-deleted)."""
        self._check_columns(values)
        statement = (
            sa.update(self.table)
            .where(self._key_clause(key), *self._where(None, include_deleted))
            .values(dict(values))
            .returning(*self.table.c)
        )

        def work(connection: sa.Connection) -> Row:
            row = _one_or_none(connection.execute(statement))
            if row is None:
                raise DatabaseError("DB_4001", details={"table": self.table.name, "key": repr(key)})
            return row

        return self._run(work)

    def soft_delete(self, key: Any) -> bool:
        """Mark a row deleted (``deleted_at = now()``); False when absent or already deleted."""
        if self._soft is None:
            raise ValidationError("VALID_3001", f"{self.table.name} has no soft-delete column")
        statement = (
            sa.update(self.table)
            .where(self._key_clause(key), self._soft.is_(None))
            .values({self._soft.name: sa.func.now()})
        )
        return self._run(lambda c: c.execute(statement).rowcount == 1)


class AsyncRepository:
    """The same operations on an async engine or connection, run through ``run_sync``.

    One implementation of the SQL serves both worlds: the sync repository runs on the
    greenlet-adapted connection underneath the async one.
    """

    def __init__(
        self, table: sa.Table, bind: AsyncEngine | AsyncConnection, *, soft_delete_column: str = "deleted_at"
    ) -> None:
        self.table = table
        self.bind = bind
        self._soft_delete_column = soft_delete_column

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        async with async_transaction(self.bind) as connection:
            return await connection.run_sync(
                lambda sync: getattr(
                    Repository(self.table, sync, soft_delete_column=self._soft_delete_column), method
                )(*args, **kwargs)
            )

    async def get(self, key: Any, *, include_deleted: bool = False) -> Row | None:
        result: Row | None = await self._call("get", key, include_deleted=include_deleted)
        return result

    async def get_many(self, keys: Iterable[Any], *, include_deleted: bool = False) -> list[Row]:
        result: list[Row] = await self._call("get_many", list(keys), include_deleted=include_deleted)
        return result

    async def count(self, filters: Filters | None = None, *, include_deleted: bool = False) -> int:
        result: int = await self._call("count", filters, include_deleted=include_deleted)
        return result

    async def exists(self, filters: Filters | None = None, *, include_deleted: bool = False) -> bool:
        result: bool = await self._call("exists", filters, include_deleted=include_deleted)
        return result

    async def page(self, **kwargs: Any) -> Page:
        result: Page = await self._call("page", **kwargs)
        return result

    async def create(self, values: Mapping[str, Any]) -> Row:
        result: Row = await self._call("create", values)
        return result

    async def bulk_upsert(self, rows: Sequence[Mapping[str, Any]], **kwargs: Any) -> int:
        result: int = await self._call("bulk_upsert", rows, **kwargs)
        return result

    async def update(self, key: Any, values: Mapping[str, Any], *, include_deleted: bool = False) -> Row:
        result: Row = await self._call("update", key, values, include_deleted=include_deleted)
        return result

    async def soft_delete(self, key: Any) -> bool:
        result: bool = await self._call("soft_delete", key)
        return result


def _one_or_none(result: sa.CursorResult[Any]) -> Row | None:
    row = result.one_or_none()
    return dict(row._mapping) if row is not None else None


def _integrity_error(table: str, exc: IntegrityError) -> DatabaseError:
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    details = {
        "table": table,
        "constraint": getattr(diag, "constraint_name", None),
        "sqlstate": getattr(orig, "sqlstate", None),
    }
    code = "DB_4002" if isinstance(orig, psycopg.errors.UniqueViolation) else "DB_4005"
    return DatabaseError(code, details=details)
