"""Landing one collection (one source × one day) in PostgreSQL, with its events in the outbox.

Why here and not in the asset: the asset only wires resources, metrics and metadata; what a
collection writes is decided once, here, and is testable without Dagster.

One transaction holds everything a collection writes: the new versions of records (change
detection, :func:`aegis_orchestration.sources.landing.insert_changed`), a ``PolicyCollected``
event per new version in the transactional outbox, and every refused item in
``collection_rejections`` with its DLQ message in the outbox. If anything fails, nothing is kept;
once it commits, the relay publishes (at-least-once; consumers are idempotent on the key). The
event's dedupe key names the version (hash and collection time), so a record that goes
A → B → A gets three events, and a retried run that landed nothing new writes none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from aegis_orchestration.pipeline.outbox import OutboxMessage, event_message, write_messages
from aegis_orchestration.sources.connector import CollectionResult, FeedFailure
from aegis_orchestration.sources.landing import insert_changed, record_rejections
from aegis_orchestration.sources.page import SourceRejection
from aegis_shared.messaging import EventPublisher, OutgoingEvent
from aegis_shared.models import Announcement

EVENT_TYPE = "PolicyCollected"


def collected_events(records: Iterable[Announcement]) -> list[OutgoingEvent]:
    """``PolicyCollected`` events for new rows, keyed ``source:source_id`` to keep order per policy."""
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


def collected_messages(builder: EventPublisher, records: Sequence[Announcement]) -> list[OutboxMessage]:
    """:func:`collected_events` validated and enveloped now, as outbox messages (one per version)."""
    return [
        event_message(
            builder,
            event.event_type,
            event.data,
            key=record.policy_id,
            dedupe_key=f"{EVENT_TYPE}:{record.policy_id}:{record.content_hash}:{record.collected_at.isoformat()}",
        )
        for record, event in zip(records, collected_events(records), strict=True)
    ]


@dataclass(frozen=True)
class Landed:
    """What one collection wrote: the new versions and the refused items kept."""

    inserted: list[Announcement]
    rejections_recorded: int
    events_written: int
    dead_letters_written: int


def land_collection(
    engine: sa.Engine,
    result: CollectionResult,
    partition_date: date,
    *,
    run_id: str,
    builder: EventPublisher,
    dlq_topic: str,
) -> Landed:
    """Write ``result`` in one transaction (see the module docstring); publishes nothing."""
    with engine.begin() as connection:
        inserted = insert_changed(connection, result.records, partition_date)
        events = write_messages(connection, collected_messages(builder, inserted))
        landed = record_rejections(
            connection, result.rejected, partition_date=partition_date, run_id=run_id, dlq_topic=dlq_topic
        )
    return Landed(inserted, landed.recorded, events, landed.dead_lettered)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rejection_table(rejected: Sequence[SourceRejection], limit: int = 50) -> str:
    """A Markdown table of rejected items for the Dagster UI (all of them are in PostgreSQL)."""
    if not rejected:
        return "No rejected items."
    lines = ["| source_id | code | reason |", "| --- | --- | --- |"]
    for item in rejected[:limit]:
        lines.append(f"| {item.source_id or '—'} | {item.code} | {_cell(item.reason)} |")
    if len(rejected) > limit:
        lines.append(f"| … | | {len(rejected) - limit} more: SELECT * FROM collection_rejections |")  # nosec B608 # markdown for the run summary, not a query
    return "\n".join(lines)


def failure_table(failures: Sequence[FeedFailure]) -> str:
    """A Markdown table of the feeds and pages that could not be read."""
    if not failures:
        return "Every feed and page was read."
    lines = ["| feed or page | code | message |", "| --- | --- | --- |"]
    lines += [f"| {_cell(f.target)} | {f.code} | {_cell(f.message)} |" for f in failures]
    return "\n".join(lines)
