"""``raw_announcements``: one day × one source of collected announcements, landed in Postgres.

Each partition collects what its source registered or updated on its day (Asia/Seoul), with the
source's own date filter where it has one, else reading its newest-first list down to the day
(see :mod:`aegis_orchestration.sources.connector`). What a collection writes (new versions, a
``PolicyCollected`` event per version and a DLQ message per refused item, all through the
outbox in one transaction) is :mod:`aegis_orchestration.pipeline.collection`; this asset wires
resources, metrics and metadata, and runs the outbox relay once the transaction committed.

Nothing is silently dropped: every refused item is kept in ``collection_rejections`` with its
code, reason and original bytes and sent to the DLQ, and a feed or page that failed fails the
``source_feeds_healthy`` check of the partition while the source's other feeds still land.
"""

import time
from collections import Counter
from datetime import date

import dagster as dg

from aegis_orchestration.partitions import collection_partitions
from aegis_orchestration.pipeline import collection
from aegis_orchestration.resources import KafkaResource, MetricsResource, PostgresResource
from aegis_orchestration.resources.sources import SourcesResource
from aegis_shared.monitoring.pipeline_metrics import BatchMetrics

FEEDS_CHECK = "source_feeds_healthy"


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
    keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
    source, partition_date = keys["source"], date.fromisoformat(keys["date"])
    started = time.perf_counter()

    # A failing source raises its coded SourceError here, failing only this partition.
    result = sources.collect(source, partition_date)
    fetched = len(result.records) + len(result.rejected)
    distinct = {r.source_id for r in result.records}
    engine = postgres.engine()
    with kafka.publisher() as builder:
        landed = collection.land_collection(
            engine,
            result,
            partition_date,
            run_id=context.run.run_id,
            builder=builder,
            dlq_topic=kafka.settings().topic("dlq"),
        )
    published = kafka.relay_outbox(engine)
    inserted = landed.inserted

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
            "rejections_recorded": landed.rejections_recorded,
            "dlq_published": landed.dead_letters_written,
            "outbox_events_published": published,
            "rejections": dg.MetadataValue.md(collection.rejection_table(result.rejected)),
            "failed_feeds": len(result.failures),
            "feed_failures": dg.MetadataValue.md(collection.failure_table(result.failures)),
            "pages": result.pages,
            "requests": result.requests,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
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
                    "failures": dg.MetadataValue.json([f.as_dict() for f in result.failures]),
                },
            )
        ],
    )
