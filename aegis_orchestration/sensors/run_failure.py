"""Every failed run is recorded in ``pipeline_runs`` with its error, for dashboards and alerting.

A step that failed with a registered error code (an :class:`~aegis_shared.errors.AegisError`)
is recorded and logged with that code and the registry's ``resolution``, so the operator who
gets the alert reads what to do next to what went wrong.
"""

import json
from typing import Any

import dagster as dg
import sqlalchemy as sa

from aegis_orchestration.resources import PostgresResource
from aegis_shared.errors import ErrorDefinition
from aegis_shared.errors.registry import find_code
from aegis_shared.logging import get_logger

log = get_logger(__name__)


def _coded(error: Any) -> ErrorDefinition | None:
    # Dagster wraps what the op raised; the AegisError's "[CODE] message" is in a cause.
    # Dagster's error info (message, cause) is read by attribute: its class is not public API.
    while error is not None:
        found = find_code(str(getattr(error, "message", "")))
        if found is not None:
            return found
        error = getattr(error, "cause", None)
    return None


def step_errors(context: dg.RunFailureSensorContext) -> list[dict[str, Any]]:
    """One entry per failed step: its error, and its code and resolution when it has one."""
    errors: list[dict[str, Any]] = []
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        if error is None:
            continue
        # Dagster's own wrapper ("Error occurred while executing op") says nothing: record
        # what the op raised, the innermost cause.
        raised = error
        while getattr(raised, "cause", None) is not None:
            raised = raised.cause
        entry: dict[str, Any] = {"step": event.step_key, "error": str(raised.message)[:500]}
        coded = _coded(error)
        if coded is not None:
            entry.update(code=coded.code, resolution=coded.resolution)
        errors.append(entry)
    return errors


@dg.run_failure_sensor(
    description="Records failed runs in pipeline_runs and logs them with their step errors.",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_failure_recorder(context: dg.RunFailureSensorContext, postgres: PostgresResource) -> None:
    run = context.dagster_run
    errors = step_errors(context)
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
    for entry in errors:
        if "code" in entry:
            log.error(
                "step_failed",
                run_id=run.run_id,
                step=entry["step"],
                error_code=entry["code"],
                resolution=entry["resolution"],
            )
