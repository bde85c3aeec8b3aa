"""Another team's Dagster code location: a weekly report over the Aegis ``policies`` asset.

    pip install "aegis-platform[orchestration]"
    dagster dev -w workspace.yaml        # the repository's workspace loads it beside `aegis`

The report depends on our asset by key (``dg.AssetKey("policies")``), not by importing our
definitions, so the two code locations deploy on their own schedules while the Dagster UI draws
``policies → weekly_policy_report`` across them. PostgreSQL comes through our
``PostgresResource`` (``AEGIS_POSTGRES_URL``), the resource every Aegis job uses.
"""

# No `from __future__ import annotations`: Dagster reads the context annotation at definition time.
import dagster as dg
import sqlalchemy as sa

from aegis_orchestration.resources import PostgresResource

# The asset key the Aegis code location publishes; the only thing this team needs to know of it.
POLICIES = dg.AssetKey("policies")

# Monday-to-Monday weeks in Seoul, the time zone of Aegis's daily partitions.
weekly = dg.WeeklyPartitionsDefinition(start_date="2026-01-05", day_offset=1, timezone="Asia/Seoul")

_COUNTS = sa.text(
    "SELECT source, status, count(*) AS n FROM policies "
    "WHERE collected_at >= :start AND collected_at < :end AND deleted_at IS NULL "
    "GROUP BY source, status ORDER BY source, status"
)


@dg.asset(
    deps=[POLICIES],
    partitions_def=weekly,
    group_name="partner_reports",
    kinds={"postgres"},
    owners=["team:partner-insights"],
    description="Policies Aegis collected in the week, by source and status, for the partner newsletter.",
)
def weekly_policy_report(
    context: dg.AssetExecutionContext, postgres: PostgresResource
) -> dg.MaterializeResult:
    window = context.partition_time_window
    with postgres.engine().connect() as conn:
        rows = conn.execute(_COUNTS, {"start": window.start, "end": window.end}).all()
    by_source: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for source, status, count in rows:
        by_source[source] = by_source.get(source, 0) + count
        by_status[status] = by_status.get(status, 0) + count
    total = sum(by_source.values())
    table = "\n".join(f"| {source} | {status} | {count} |" for source, status, count in rows)
    context.log.info(f"week of {context.partition_key}: {total} policies")
    return dg.MaterializeResult(
        metadata={
            "week_start": context.partition_key,
            "policies": total,
            "by_source": dg.MetadataValue.json(by_source),
            "by_status": dg.MetadataValue.json(by_status),
            "report": dg.MetadataValue.md("| source | status | policies |\n|---|---|---|\n" + table),
            "dagster/row_count": total,
        }
    )


weekly_policy_report_job = dg.define_asset_job("weekly_policy_report_job", selection=[weekly_policy_report])

defs = dg.Definitions(
    assets=[weekly_policy_report],
    jobs=[weekly_policy_report_job],
    # Monday 07:00 in Seoul, for the week that just ended.
    schedules=[dg.build_schedule_from_partitioned_job(weekly_policy_report_job, hour_of_day=7)],
    resources={"postgres": PostgresResource()},
)
