"""Maintenance of the served set as time passes: expiry of policies whose period has ended.

``expired_policies`` is daily-partitioned like the cold path; the partition date (Asia/Seoul) is
the as-of day. It runs in its own ``expiry_job`` (``jobs.py``) with the store syncs (which then
delete what it archived), on a daily Seoul schedule, and is not part of ``cold_path_job``.
"""

import time
from datetime import date

import dagster as dg

from aegis_orchestration.partitions import daily_partitions
from aegis_orchestration.pipeline import expiry, policy_events
from aegis_orchestration.resources import KafkaResource, PostgresResource

GROUP = "maintenance"


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    deps=["policies"],
    kinds={"postgres"},
    # Only the newest day of a range matters (an earlier as-of archives a subset), and the store
    # syncs in the same job are single-run too, so a backfill is one run.
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Active policies whose application period ended before the partition day (Asia/Seoul, "
    "open-ended excluded) become archived: version bump, processing_history, audit_logs and a "
    "PolicyQualityUpdated event each. The store syncs downstream then delete them.",
)
def expired_policies(
    context: dg.AssetExecutionContext, postgres: PostgresResource, kafka: KafkaResource
) -> dg.MaterializeResult:
    started = time.perf_counter()
    engine = postgres.engine()
    as_of = date.fromisoformat(context.partition_key_range.end)
    with kafka.publisher() as events:
        report = expiry.expire_policies(engine, as_of, run_id=context.run.run_id, events=events)
    # The events were written to the outbox with the rows; the relay publishes whatever is pending.
    published = kafka.relay_outbox(engine)
    projected = policy_events.update_status_history(engine)
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of.isoformat(),
            "archived": len(report.archived),
            "archived_ids": dg.MetadataValue.json(report.archived[:50]),
            "outbox_events_written": report.events,
            "outbox_events_published": published,
            "status_history_events_projected": projected,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
    )


maintenance_assets = [expired_policies]
