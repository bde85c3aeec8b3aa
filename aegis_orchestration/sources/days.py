"""Which collection day a source item belongs to.

A day × source partition holds what that source registered or updated on that day, in
Asia/Seoul. Each source states those dates differently:

* bizinfo ``creatPnttm`` / ``updtPnttm`` (``YYYY-MM-DD HH:MM:SS``), and ``pubDate`` in its RSS form;
* MSS its registration date (the field the portal's ``startDate``/``endDate`` filter on);
* ministry RSS ``pubDate`` (RFC 822, converted to Seoul time);
* local-government boards the posted date on the list and detail pages;
* K-Startup has no registration or update date at all: its partitions are keyed by the day
  receipt opens (``pbanc_rcpt_bgng_dt``), the one date its ``cond[…]`` filter can address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from aegis_shared.models import Announcement

SEOUL = ZoneInfo("Asia/Seoul")

_ISO_DAY = re.compile(r"^\s*(\d{4})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})")
_COMPACT_DAY = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})(?!\d)")


def parse_day(value: Any) -> date | None:
    """The calendar day of a source's date field, or ``None`` when absent or unreadable.

    Accepts ``YYYY-MM-DD[ HH:MM:SS]``, ``YYYY.MM.DD``, ``YYYYMMDD`` and RFC 822 (``Fri, 10 Jul
    2026 09:00:00 +0900``, converted to Asia/Seoul). A registration date is metadata: an
    unreadable one leaves the field empty rather than rejecting the programme.
    """
    if isinstance(value, datetime):
        return value.astimezone(SEOUL).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    for pattern in (_ISO_DAY, _COMPACT_DAY):
        if match := pattern.match(value):
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment.astimezone(SEOUL).date() if moment.tzinfo else moment.date()


# Per source, filled from the source table (``SourceSpec.day_fields`` and
# ``days_from_period_start``) as each source is registered: this module cannot import the table,
# since the connectors import it.
#: Raw field names holding an item's registration or update date, for items that were rejected
#: and so have no Announcement to ask.
RAW_DAY_FIELDS: dict[str, tuple[str, ...]] = {}
#: Sources that state no registration or update date: an item's day is the day its period opens.
PERIOD_START_SOURCES: set[str] = set()


def record_days(record: Announcement) -> set[date]:
    """The collection days ``record`` belongs to (its registration and update days)."""
    days = {d for d in (record.registered_on, record.updated_on) if d is not None}
    if not days and record.source in PERIOD_START_SOURCES and record.period_start is not None:
        days.add(record.period_start)
    return days


def raw_days(source: str, raw: Any) -> set[date] | None:
    """The collection days of a raw item, or ``None`` when it states none."""
    if not isinstance(raw, Mapping):
        return None
    days = {d for name in RAW_DAY_FIELDS.get(source, ()) if (d := parse_day(raw.get(name))) is not None}
    return days or None
