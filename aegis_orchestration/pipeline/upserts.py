"""Set-based upserts into ``policies``, shared by the cold path and hot-path staging.

Both paths write many rows at once and need to know which rows were actually written (new or
changed), so both run ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING`` through
:func:`upsert_returning`, one statement per chunk of rows.

A chunk travels as one JSON document that the server turns into rows (:func:`bulk_insert`),
rather than as a multi-row ``VALUES`` list: the statement text stays the same whatever the
chunk, so it is compiled and parsed once, and orjson encodes a thousand rows faster than the
driver adapts their 20k parameters one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON, Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert

from aegis_orchestration.pipeline.tables import col

UPSERT_CHUNK = 1000
_PARAM = "bulk_rows"  # clear of the names SQLAlchemy gives other parameters


def merged_source_ids(existing: str, incoming: str) -> str:
    """SQL for the sorted union of two JSONB arrays of source ids (byte order, like Python's ``sorted``)."""
    return (
        f'(SELECT jsonb_agg(DISTINCT e COLLATE "C" ORDER BY e COLLATE "C") '  # nosec B608 # column expressions from our callers; no values inlined
        f"FROM jsonb_array_elements_text({existing} || {incoming}) AS e)"
    )


def bulk_insert(table: sa.Table, columns: Sequence[str]) -> Insert:
    """``INSERT INTO table (columns) SELECT ... FROM json_populate_recordset(NULL::table, :rows)``.

    Execute it with :func:`upsert_returning` (one JSON document per chunk); add
    ``on_conflict_do_update`` and ``returning`` as for any PostgreSQL insert. The server converts
    each JSON field to its column's type (arrays, dates, timestamps and jsonb included).
    """
    rows = sa.func.json_populate_recordset(
        sa.literal_column(f"NULL::{table.name}"), sa.cast(sa.bindparam(_PARAM, type_=sa.Text), JSON)
    )
    source = rows.table_valued(*columns).alias("v")
    return pg_insert(table).from_select(list(columns), sa.select(*(source.c[name] for name in columns)))


def upsert_returning(
    connection: sa.Connection,
    statement: Insert,
    rows: Sequence[Mapping[str, Any]],
    *,
    chunk: int = UPSERT_CHUNK,
) -> list[sa.Row[Any]]:
    """Execute a :func:`bulk_insert` upsert with ``RETURNING`` over ``rows``, ``chunk`` rows a statement.

    Returns what the statement returned. A row the conflict clause's ``WHERE`` left alone returns
    nothing, which is how callers tell written from unchanged. ``rows`` must not hold the same
    conflict key twice (PostgreSQL refuses to update one row twice in a statement).
    """
    out: list[sa.Row[Any]] = []
    for start in range(0, len(rows), chunk):
        document = orjson.dumps(list(rows[start : start + chunk]), option=orjson.OPT_NON_STR_KEYS).decode()
        out.extend(connection.execute(statement, {_PARAM: document}).all())
    return out


def insert_rows(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    chunk: int = UPSERT_CHUNK,
) -> None:
    """Plain bulk ``INSERT`` of ``rows`` (all with the same keys) into ``table``, one JSON document a chunk.

    JSON columns take Python dicts and lists, not pre-encoded strings. A key that is not a column
    of ``table`` (from :mod:`aegis_orchestration.pipeline.tables`) raises before anything is sent.
    """
    if not rows:
        return
    statement = bulk_insert(table, [col(table, name) for name in rows[0]])
    for start in range(0, len(rows), chunk):
        connection.execute(statement, {_PARAM: orjson.dumps(list(rows[start : start + chunk])).decode()})
