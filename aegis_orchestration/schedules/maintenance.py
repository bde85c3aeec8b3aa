"""Expiry runs daily just after midnight (Asia/Seoul), as of the new day."""

import dagster as dg

from aegis_orchestration.jobs import expiry_job
from aegis_orchestration.partitions import TIMEZONE, daily_partitions


@dg.schedule(
    job=expiry_job,
    cron_schedule="5 0 * * *",
    execution_timezone=TIMEZONE,
    description="Daily just after midnight in Seoul: yesterday's closing programmes leave the stores.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def expiry_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = daily_partitions.get_partition_key_for_timestamp(context.scheduled_execution_time.timestamp())
    return dg.RunRequest(run_key=f"expiry-{day}", partition_key=day)
