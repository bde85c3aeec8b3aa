"""``raw_announcements``: one day × one source of collected announcements, landed in Postgres.

Each partition collects what its source registered or updated on its day (Asia/Seoul), with the
source's own date filter where it has one, else reading its newest-first list down to the day
(see :mod:`aegis_orchestration.sources.connector`). Rows are landed by change detection (a row
per new version of a record, see :mod:`aegis_orchestration.sources.landing`) and a
``PolicyCollected`` event is published for each. Publishing happens before the insert commits: if
Kafka fails the transaction rolls back and a retry re-inserts and re-publishes, so an event is
never lost (at-least-once; consumers are idempotent on the key).

Nothing is silently dropped: every refused item is kept in ``collection_rejections`` with its
code, reason and original bytes and sent to the DLQ (through the outbox, in the same
transaction), and a feed or page that failed fails the ``source_feeds_healthy`` check of the
partition while the source's other feeds still land.
"""

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import dagster as dg
import sqlalchemy as sa

from aegis_orchestration.partitions import collection_partitions
from aegis_orchestration.resources import KafkaResource, MetricsResource, PostgresResource
from aegis_orchestration.resources.sources import SourcesResource
from aegis_orchestration.sources.connector import FeedFailure
from aegis_orchestration.sources.landing import insert_changed, record_rejections
from aegis_orchestration.sources.page import Rejection
from aegis_shared.models import Announcement
from aegis_shared.monitoring.pipeline_metrics import BatchMetrics

EVENT_TYPE = "PolicyCollected"
FEEDS_CHECK = "source_feeds_healthy"


def insert_new(
    connection: sa.Connection, records: Sequence[Announcement], partition_date: date
) -> list[Announcement]:
    """Land ``records``; return those that were new (hash differs from the latest stored version)."""
    return insert_changed(connection, records, partition_date)


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


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rejection_table(rejected: Sequence[Rejection], limit: int = 50) -> str:
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


@dg.asset(
    partitions_def=collection_partitions,
    group_name="collection",
    kinds={"python", "postgres", "kafka"},
    description=(
        "Announcements one public source registered or updated on one day (Asia/Seoul), landed as "
        "new versions; refused items kept in collection_rejections and sent to the DLQ."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            FEEDS_CHECK,
            asset="raw_announcements",
            description=(
                "Every feed and page of the source was read in this partition (a renamed feed's 404, "
                "an unreadable list or detail page fail it; the other feeds still land)."
            ),
        )
    ],
)
def raw_announcements(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    sources: SourcesResource,
    metrics: MetricsResource,
) -> dg.MaterializeResult:
    source = context.partition_key.keys_by_dimension["source"]  # type: ignore[union-attr]
    with metrics.run() as recorded:
        started, status = time.perf_counter(), "error"
        try:
            result = _collect(context, postgres, kafka, sources, recorded)
            status = "success"
            return result
        finally:
            # One attempt per partition run; a failed source counts here, then fails its partition.
            recorded.count("aegis_data_collection_total", source=source, status=status)
            recorded.observe(
                "aegis_data_collection_latency_seconds", time.perf_counter() - started, source=source
            )


def _collect(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    sources: SourcesResource,
    recorded: BatchMetrics,
) -> dg.MaterializeResult:
    from aegis_orchestration.pipeline.outbox import OutboxRelay
    from aegis_shared.events.topics import ensure_topics, topic_name

    keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
    source, partition_date = keys["source"], date.fromisoformat(keys["date"])
    started = time.perf_counter()

    # A failing source raises its coded SourceError here, failing only this partition.
    result = sources.collect(source, partition_date)
    fetched = len(result.records) + len(result.rejected)
    distinct = {r.source_id for r in result.records}
    settings = kafka.settings()
    engine = postgres.engine()

    with engine.begin() as connection:
        inserted = insert_new(connection, result.records, partition_date)
        if inserted:
            with kafka.publisher() as publisher:
                publisher.publish_many(collected_events(inserted))
        landed = record_rejections(
            connection,
            result.rejected,
            partition_date=partition_date,
            run_id=context.run.run_id,
            dlq_topic=topic_name(settings, "dlq"),
        )
    dead_lettered = 0
    if landed.dead_lettered:
        ensure_topics(settings.kafka_bootstrap, settings, entities=["dlq"])
        with OutboxRelay(engine, settings.kafka_bootstrap) as relay:
            dead_lettered = relay.publish_pending()

    by_code = Counter(item.code for item in result.rejected)
    for status, n in (
        ("inserted", len(inserted)),
        ("unchanged", len(distinct) - len(inserted)),
        ("rejected", len(result.rejected)),
    ):
        recorded.count("aegis_data_collection_items_total", n, source=source, status=status)
    for item in result.rejected:
        context.log.warning(f"rejected {source}:{item.source_id or '?'} [{item.code}] {item.reason}")
    for failure in result.failures:
        context.log.error(f"{source} {failure.target} failed [{failure.code}] {failure.message}")
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "partition_date": partition_date.isoformat(),
            "fetched": fetched,
            "outside_day": result.outside_day,
            "inserted": len(inserted),
            "unchanged": len(distinct) - len(inserted),
            "duplicates_in_fetch": len(result.records) - len(distinct),
            "rejected": len(result.rejected),
            "rejected_by_code": dict(sorted(by_code.items())),
            "rejections_recorded": landed.recorded,
            "dlq_published": dead_lettered,
            "rejections": dg.MetadataValue.md(rejection_table(result.rejected)),
            "failed_feeds": len(result.failures),
            "feed_failures": dg.MetadataValue.md(failure_table(result.failures)),
            "pages": result.pages,
            "requests": result.requests,
            "duration_seconds": round(time.perf_counter() - started, 3),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=FEEDS_CHECK,
                passed=not result.failures,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "source": source,
                    "partition_date": partition_date.isoformat(),
                    "failed": len(result.failures),
                    "failures": dg.MetadataValue.json([f.to_dict() for f in result.failures]),
                },
            )
        ],
    )
