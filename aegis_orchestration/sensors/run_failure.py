"""Every failed run is recorded in ``pipeline_runs`` with its error, for dashboards and alerting."""

import json

import dagster as dg
import sqlalchemy as sa

from aegis_orchestration.resources import PostgresResource
from aegis_shared.logging import get_logger

log = get_logger(__name__)


@dg.run_failure_sensor(
    description="Records failed runs in pipeline_runs and logs them with their step errors.",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_failure_recorder(context: dg.RunFailureSensorContext, postgres: PostgresResource) -> None:
    run = context.dagster_run
    errors = [
        {"step": event.step_key, "error": event.event_specific_data.error.message[:500]}  # type: ignore[union-attr]
        for event in context.get_step_failure_events()
        if event.event_specific_data is not None and getattr(event.event_specific_data, "error", None)
    ]
    with postgres.engine().begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO pipeline_runs (run_id, job, status, finished_at, stats) "
                "VALUES (:run_id, :job, 'failed', now(), CAST(:stats AS jsonb)) "
                "ON CONFLICT (run_id) DO UPDATE "
                "SET status = 'failed', finished_at = now(), stats = EXCLUDED.stats"
            ),
            {
                "run_id": run.run_id,
                "job": run.job_name,
                "stats": json.dumps({"errors": errors}, ensure_ascii=False),
            },
        )
    log.error("run_failed", run_id=run.run_id, job=run.job_name, failure=context.failure_event.message)
