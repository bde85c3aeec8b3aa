"""Collection schedules, Asia/Seoul: API sources every 6 hours, web scraping daily at midnight.

Each tick asks for one run per source partition of the newest day the partitions definition
has, with a run key unique per tick and source, so a tick evaluated twice launches nothing twice.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from aegis_orchestration.assets.collection import raw_announcements
from aegis_orchestration.partitions import (
    API_SOURCES,
    SCRAPED_SOURCES,
    TIMEZONE,
    daily_partitions,
)

collection_job = dg.define_asset_job(
    "collection_job",
    selection=[raw_announcements],
    description="Collect one day × source partition of raw_announcements.",
)


def run_requests(sources: tuple[str, ...], scheduled: datetime) -> Iterator[dg.RunRequest]:
    """One run per source for the newest day partition that exists at ``scheduled``."""
    local = scheduled.astimezone(ZoneInfo(TIMEZONE)).date()
    # With end_offset 0 the newest partition is yesterday's (a day exists once it has ended).
    day = (local + timedelta(days=daily_partitions.end_offset - 1)).isoformat()
    for source in sources:
        yield dg.RunRequest(
            run_key=f"collection:{source}:{day}:{scheduled.isoformat()}",
            partition_key=dg.MultiPartitionKey({"date": day, "source": source}),
            tags={"aegis/source": source},
        )


@dg.schedule(
    name="api_collection_every_6h",
    cron_schedule="0 */6 * * *",
    execution_timezone=TIMEZONE,
    job=collection_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def api_collection_schedule(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    yield from run_requests(API_SOURCES, context.scheduled_execution_time)


@dg.schedule(
    name="web_collection_daily",
    cron_schedule="0 0 * * *",
    execution_timezone=TIMEZONE,
    job=collection_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def web_collection_schedule(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    yield from run_requests(SCRAPED_SOURCES, context.scheduled_execution_time)


collection_jobs = [collection_job]
collection_schedules = [api_collection_schedule, web_collection_schedule]
