"""``raw_announcements``: one day × one source of collected announcements, landed in Postgres.

Each partition collects every page of its source over HTTP (the replay server offline, the real
APIs in production), inserts rows idempotently on (source, source_id, content_hash) and
publishes ``PolicyCollected`` for each row that is new. Publishing happens before the insert
commits: if Kafka fails the transaction rolls back and a retry re-inserts and re-publishes, so an
event is never lost (at-least-once; consumers are idempotent on the key).
"""

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from aegis_orchestration.partitions import collection_partitions
from aegis_orchestration.resources import KafkaResource, PostgresResource
from aegis_orchestration.resources.sources import SourcesResource
from aegis_orchestration.sources.page import Rejection
from aegis_shared.models import Announcement

EVENT_TYPE = "PolicyCollected"
INSERT_CHUNK = 500

# Only the columns this asset writes; the table itself comes from schemas/db (apply_registry).
raw_announcements_table = sa.Table(
    "raw_announcements",
    sa.MetaData(),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("partition_date", sa.Date, nullable=False),
    sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
)


def insert_new(
    connection: sa.Connection, records: Sequence[Announcement], partition_date: date
) -> list[Announcement]:
    """Insert ``records``; return those that were new (not already landed with the same hash)."""
    by_key = {(r.source, r.source_id, r.content_hash): r for r in records}
    inserted: list[Announcement] = []
    rows = [
        {
            "source": r.source,
            "source_id": r.source_id,
            "content_hash": r.content_hash,
            "payload": r.model_dump(mode="json"),
            "partition_date": partition_date,
            "collected_at": r.collected_at,
        }
        for r in by_key.values()
    ]
    table = raw_announcements_table
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = (
            pg_insert(table)
            .values(rows[start : start + INSERT_CHUNK])
            .on_conflict_do_nothing(index_elements=["source", "source_id", "content_hash"])
            .returning(table.c.source, table.c.source_id, table.c.content_hash)
        )
        for source, source_id, content_hash in connection.execute(statement):
            inserted.append(by_key[(source, source_id, content_hash)])
    return inserted


def collected_events(records: Iterable[Announcement]) -> list[Any]:
    """``PolicyCollected`` events for new rows, keyed ``source:source_id`` to keep order per policy."""
    from aegis_shared.messaging.publisher import OutgoingEvent

    return [
        OutgoingEvent(
            event_type=EVENT_TYPE,
            data={
                "source": r.source,
                "source_id": r.source_id,
                "content_hash": r.content_hash,
                "title": r.title,
                "collected_at": r.collected_at.isoformat(),
                "announcement": r.model_dump(mode="json"),
            },
            key=r.policy_id,
        )
        for r in records
    ]


def rejection_table(rejected: Sequence[Rejection], limit: int = 50) -> str:
    """A Markdown table of rejected items for the Dagster UI."""
    if not rejected:
        return "No rejected items."
    lines = ["| source_id | code | reason |", "| --- | --- | --- |"]
    for item in rejected[:limit]:
        reason = item.reason.replace("|", "\\|")
        lines.append(f"| {item.source_id or '—'} | {item.code} | {reason} |")
    if len(rejected) > limit:
        lines.append(f"| … | | {len(rejected) - limit} more |")
    return "\n".join(lines)


@dg.asset(
    partitions_def=collection_partitions,
    group_name="collection",
    kinds={"python", "postgres", "kafka"},
    description="Announcements collected from one public source on one day, landed idempotently.",
)
def raw_announcements(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    sources: SourcesResource,
) -> dg.MaterializeResult:
    keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
    source, partition_date = keys["source"], date.fromisoformat(keys["date"])
    started = time.perf_counter()

    # A failing source raises its coded SourceError here, failing only this partition.
    result = sources.collect(source)
    fetched = len(result.records) + len(result.rejected)
    distinct = {(r.source_id, r.content_hash) for r in result.records}

    with postgres.engine().begin() as connection:
        inserted = insert_new(connection, result.records, partition_date)
        if inserted:
            with kafka.publisher() as publisher:
                publisher.publish_many(collected_events(inserted))

    by_code = Counter(item.code for item in result.rejected)
    for item in result.rejected:
        context.log.warning(f"rejected {source}:{item.source_id or '?'} [{item.code}] {item.reason}")
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "partition_date": partition_date.isoformat(),
            "fetched": fetched,
            "inserted": len(inserted),
            "unchanged": len(distinct) - len(inserted),
            "duplicates_in_fetch": len(result.records) - len(distinct),
            "rejected": len(result.rejected),
            "rejected_by_code": dict(sorted(by_code.items())),
            "rejections": dg.MetadataValue.md(rejection_table(result.rejected)),
            "pages": result.pages,
            "requests": result.requests,
            "duration_seconds": round(time.perf_counter() - started, 3),
        }
    )
