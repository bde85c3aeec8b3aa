"""Dates in Asia/Seoul, the zone every Korean programme's deadline is written in.

A deadline of "2026-03-31" means the end of that day in Korea, whatever zone the server runs in,
so "today" is always Seoul's day (:func:`seoul_today`); lifecycle decisions, collection days and
D-day labels all ask this module. Korea has no daylight saving time, so a Seoul day is always
24 hours, 15:00 UTC to 15:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def now_seoul() -> datetime:
    """The current moment as an aware datetime in Asia/Seoul."""
    return datetime.now(SEOUL)


def to_seoul(moment: datetime) -> datetime:
    """``moment`` in Asia/Seoul; a naive datetime is read as Seoul wall-clock time, as Korean
    sources write them."""
    return moment.astimezone(SEOUL) if moment.tzinfo else moment.replace(tzinfo=SEOUL)


def seoul_today(now: datetime | None = None) -> date:
    """The current day in Asia/Seoul (or the Seoul day of ``now``, when given)."""
    return (now or now_seoul()).astimezone(SEOUL).date()


def seoul_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The Seoul day ``day`` as a half-open UTC interval ``[start, end)``, for timestamp queries."""
    start = datetime.combine(day, time.min, tzinfo=SEOUL)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def days_left(deadline: date, today: date | None = None) -> int:
    """Whole days from ``today`` (Seoul) to ``deadline``: 0 on the day, negative once it has passed."""
    return (deadline - (today or seoul_today())).days


def d_day(deadline: date, today: date | None = None) -> str:
    """The Korean D-day label: ``D-3`` three days before, ``D-DAY`` on the day, ``D+2`` after."""
    left = days_left(deadline, today)
    if left == 0:
        return "D-DAY"
    return f"D-{left}" if left > 0 else f"D+{-left}"
