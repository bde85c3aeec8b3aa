"""The cold path runs hourly over the current collection day (Asia/Seoul)."""

import dagster as dg

from aegis_orchestration.jobs import cold_path_job
from aegis_orchestration.partitions import TIMEZONE, daily_partitions


@dg.schedule(
    job=cold_path_job,
    cron_schedule="15 * * * *",
    execution_timezone=TIMEZONE,
    description="Hourly, a quarter past: after collection has landed for the hour.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def cold_path_hourly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = daily_partitions.get_partition_key_for_timestamp(context.scheduled_execution_time.timestamp())
    return dg.RunRequest(run_key=f"cold-path-{context.scheduled_execution_time:%Y%m%dT%H}", partition_key=day)
