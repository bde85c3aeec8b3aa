"""``run_failure_recorder``: a failed run is recorded and logged with its steps' codes and what to do."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from aegis_orchestration.resources import PostgresResource
from aegis_orchestration.sensors.run_failure import run_failure_recorder, step_errors
from aegis_shared.errors import PipelineError, get_definition
from aegis_shared.logging import configure_logging
from tests.aegis_orchestration.hot_path.helpers import Database


@dg.op
def score_quality() -> None:
    raise PipelineError("DP_2009", "quality expectation expect_column_values_to_not_be_null failed to run")


@dg.op
def crash() -> None:
    raise RuntimeError("not one of ours")


@dg.job
def failing_job() -> None:
    score_quality()
    crash()


@pytest.fixture
def failed_run() -> Iterator[tuple[dg.DagsterInstance, dg.ExecuteInProcessResult]]:
    with dg.instance_for_test() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        yield instance, result


def _context(
    instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, **resources: object
) -> dg.RunFailureSensorContext:
    return dg.build_run_status_sensor_context(
        sensor_name=run_failure_recorder.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources=resources or None,
    ).for_run_failure()


def test_a_coded_step_failure_carries_its_code_and_resolution(
    failed_run: tuple[dg.DagsterInstance, dg.ExecuteInProcessResult],
) -> None:
    errors = {e["step"]: e for e in step_errors(_context(*failed_run))}
    assert errors["score_quality"]["code"] == "DP_2009"
    assert errors["score_quality"]["resolution"] == get_definition("DP_2009").resolution
    assert "quality expectation" in errors["score_quality"]["error"]
    # A failure without a registered code is still recorded, without made-up advice.
    assert "code" not in errors["crash"] and "RuntimeError" in errors["crash"]["error"]


def test_the_recorded_run_and_the_log_tell_the_operator_what_to_do(
    failed_run: tuple[dg.DagsterInstance, dg.ExecuteInProcessResult], db: Database
) -> None:
    instance, result = failed_run
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        run_failure_recorder(_context(instance, result, postgres=PostgresResource(url=db.url)))
    finally:
        configure_logging("WARNING", stream=io.StringIO())

    with db.engine.connect() as conn:
        status, stats = conn.execute(
            sa.text("SELECT status, stats FROM pipeline_runs WHERE run_id = :id"), {"id": result.run_id}
        ).one()
    assert status == "failed"
    (coded,) = [e for e in stats["errors"] if "code" in e]
    assert (coded["step"], coded["code"]) == ("score_quality", "DP_2009")
    assert coded["resolution"] == get_definition("DP_2009").resolution

    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    (step,) = [line for line in lines if line["event"] == "step_failed"]
    assert (step["step"], step["error_code"]) == ("score_quality", "DP_2009")
    assert step["resolution"] == get_definition("DP_2009").resolution
