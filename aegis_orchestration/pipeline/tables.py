"""The SQLAlchemy tables the pipeline writes and reads, built from the YAML DB registry.

Why one module: a column is declared once, in ``aegis_shared/schemas/db/<table>.yaml``, and
every statement takes its columns from here. A renamed or dropped column then fails at import
(``tables.policies.c.<name>``) or in the registry's own checks, not in the middle of a run.

Statements that need PostgreSQL-only forms SQLAlchemy does not express (``unnest`` of parallel
arrays, ``FOR UPDATE SKIP LOCKED`` claims, advisory locks) stay as ``sa.text``, but they spell
their column names through :func:`cols` / :func:`col`, which refuse a name the table lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from aegis_shared.database.schema_registry import SchemaRegistry
from aegis_shared.models import Announcement

metadata: sa.MetaData = SchemaRegistry.load().metadata()

policies: sa.Table = metadata.tables["policies"]
raw_announcements: sa.Table = metadata.tables["raw_announcements"]
quality_metrics: sa.Table = metadata.tables["quality_metrics"]
processing_history: sa.Table = metadata.tables["processing_history"]
audit_logs: sa.Table = metadata.tables["audit_logs"]
event_outbox: sa.Table = metadata.tables["event_outbox"]
event_outbox_published: sa.Table = metadata.tables["event_outbox_published"]
policy_status_history: sa.Table = metadata.tables["policy_status_history"]
store_sync_state: sa.Table = metadata.tables["store_sync_state"]
collection_rejections: sa.Table = metadata.tables["collection_rejections"]


def col(table: sa.Table, name: str) -> str:
    """``name`` if ``table`` has that column (for ``sa.text`` SQL); else a ``KeyError`` naming both."""
    if name not in table.c:
        raise KeyError(f"{table.name} has no column {name!r}")
    return name


def cols(table: sa.Table, names: tuple[str, ...] | list[str]) -> str:
    """``a, b, c`` for ``sa.text`` SQL, each name checked against ``table``."""
    return ", ".join(col(table, name) for name in names)


# Announcement fields stored as same-named ``policies`` columns (its identity, hash and collection
# time are written apart): shared by the cold path and hot-path staging.
ANNOUNCEMENT_COLUMNS: tuple[str, ...] = tuple(
    name
    for name in Announcement.model_fields
    if name in policies.c and name not in ("source", "source_id", "content_hash", "collected_at")
)

# What both paths write to a policy row (the cold path adds its dedup key and collection time).
POLICY_COLUMNS: tuple[str, ...] = (
    "id",
    "source",
    "source_id",
    "source_ids",
    *ANNOUNCEMENT_COLUMNS,
    "status",
    "status_reason",
    "quality_score",
    "content_hash",
    "version",
)
cols(policies, POLICY_COLUMNS)  # a column missing from the registry fails here, at import


def text_array(values: Sequence[str]) -> sa.BindParameter[Any]:
    """``values`` bound as one ``text[]`` parameter (for ``= ANY(...)``: one parameter, not one each)."""
    return sa.bindparam(None, list(values), type_=ARRAY(sa.Text), unique=True)


def unnest(**arrays: Sequence[Any]) -> sa.TableValuedAlias:
    """``unnest(:a, :b, ...) AS v(a, b, ...)``: parallel text arrays as rows, for set-based updates.

    Values are text; cast a column where the target is not (``sa.cast(v.c.x, JSONB)``).
    """
    names = list(arrays)
    return (
        sa.func.unnest(*(text_array(values) for values in arrays.values()))
        .table_valued(*names)
        .render_derived()
        .alias("v")
    )
