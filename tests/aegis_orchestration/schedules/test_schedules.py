"""Schedules run in Asia/Seoul time and request today's partitions with unique run keys."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from aegis_orchestration.definitions import defs
from aegis_orchestration.partitions import API_SOURCES
from aegis_orchestration.schedules.cold_path import cold_path_hourly
from aegis_orchestration.schedules.collection import api_collection_schedule, web_collection_schedule

SEOUL = ZoneInfo("Asia/Seoul")


def evaluate(schedule: dg.ScheduleDefinition, when: datetime) -> list[dg.RunRequest]:
    # The repository lets Dagster check each requested partition key against the job's partitions.
    context = dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    result = schedule.evaluate_tick(context)
    return list(result.run_requests or [])


def test_cold_path_runs_hourly_on_the_seoul_day() -> None:
    # 00:15 in Seoul is still the previous day in UTC: the partition must follow Seoul.
    requests = evaluate(cold_path_hourly, datetime(2026, 11, 22, 0, 15, tzinfo=SEOUL))
    assert [r.partition_key for r in requests] == ["2026-11-22"]
    later = evaluate(cold_path_hourly, datetime(2026, 11, 22, 1, 15, tzinfo=SEOUL))
    assert later[0].run_key != requests[0].run_key
    assert cold_path_hourly.cron_schedule == "15 * * * *"


def test_api_collection_requests_one_run_per_api_source_for_today() -> None:
    requests = evaluate(api_collection_schedule, datetime(2026, 11, 22, 6, 0, tzinfo=SEOUL))
    keys = {
        (r.partition_key.keys_by_dimension["source"], r.partition_key.keys_by_dimension["date"])
        for r in requests
    }
    assert keys == {(source, "2026-11-22") for source in API_SOURCES}
    assert len({r.run_key for r in requests}) == len(API_SOURCES)
    assert api_collection_schedule.cron_schedule == "0 */6 * * *"


def test_web_collection_runs_daily_at_midnight() -> None:
    requests = evaluate(web_collection_schedule, datetime(2026, 11, 22, 0, 0, tzinfo=SEOUL))
    assert [r.partition_key.keys_by_dimension["source"] for r in requests] == ["web"]
    assert web_collection_schedule.cron_schedule == "0 0 * * *"
