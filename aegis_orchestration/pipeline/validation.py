"""Record validation: the hot path's basic checks and the cold path's full validation.

A record either comes back cleaned or as a :class:`ValidationRejection` carrying a registered DP_2xxx code
and a reason, so nothing is silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from aegis_shared.models import Announcement
from aegis_shared.text.markup import html_to_text, unescape_entities

MAX_RECORD_BYTES = 256 * 1024
MAX_LENGTHS = {
    "source_id": 200,
    "title": 500,
    "organization": 300,
    "executing_organization": 300,
    "category": 200,
    "summary": 20_000,
    "url": 2_000,
    "period_note": 1_000,
}
_TEXT_FIELDS = ("title", "organization", "executing_organization", "category", "summary", "period_note")
_EARLIEST_YEAR, _LATEST_YEAR = 2000, 2100


@dataclass(frozen=True, slots=True)
class ValidationRejection:
    source: str
    source_id: str
    code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "source_id": self.source_id, "code": self.code, "reason": self.reason}


def record_size(announcement: Announcement) -> int:
    return len(json.dumps(announcement.model_dump(mode="json"), ensure_ascii=False).encode("utf-8"))


def basic_check(announcement: Announcement) -> ValidationRejection | None:
    """Required fields, sizes and lengths: cheap enough for the hot path."""

    def reject(code: str, reason: str) -> ValidationRejection:
        return ValidationRejection(announcement.source, announcement.source_id, code, reason)

    if not announcement.source_id.strip():
        return reject("DP_2005", "source_id is empty")
    if not announcement.title.strip():
        return reject("DP_2005", "title is empty")
    for name, limit in MAX_LENGTHS.items():
        value = getattr(announcement, name)
        if value is not None and len(value) > limit:
            return reject("DP_2006", f"{name} has {len(value)} characters; the limit is {limit}")
    size = record_size(announcement)
    if size > MAX_RECORD_BYTES:
        return reject("DP_2008", f"record is {size} bytes; the limit is {MAX_RECORD_BYTES}")
    return None


def _clean_url(url: str | None) -> tuple[str | None, str | None]:
    """Return (url, problem). Scheme-less URLs (``www.k-startup.go.kr/...``) get https."""
    if url is None or not url.strip():
        return None, None
    url = unescape_entities(url.strip())
    if "://" not in url and not url.lower().startswith(("javascript:", "mailto:", "data:")):
        url = "https://" + url.lstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in parts.netloc:
        return None, f"url {url[:80]!r} is not an http(s) URL"
    return url, None


def validate(announcement: Announcement) -> Announcement | ValidationRejection:
    """Full validation; returns a cleaned copy (plain text, sane URL, same content hash) or a rejection."""
    problem = basic_check(announcement)
    if problem:
        return problem

    def reject(code: str, reason: str) -> ValidationRejection:
        return ValidationRejection(announcement.source, announcement.source_id, code, reason)

    cleaned = {name: html_to_text(getattr(announcement, name)) for name in _TEXT_FIELDS}
    if not cleaned["title"]:
        return reject("DP_2005", "title is empty once markup is removed")
    url, url_problem = _clean_url(announcement.url)
    if url_problem:
        return reject("DP_2007", url_problem)
    start, end = announcement.period_start, announcement.period_end
    for label, day in (("period_start", start), ("period_end", end)):
        if day is not None and not (_EARLIEST_YEAR <= day.year <= _LATEST_YEAR):
            return reject("DP_2004", f"{label} {day.isoformat()} is outside {_EARLIEST_YEAR}–{_LATEST_YEAR}")
    if start and end and end < start:
        return reject("DP_2004", f"period ends {end.isoformat()} before it starts {start.isoformat()}")
    bad_regions = [code for code in announcement.region_codes if not (len(code) == 2 and code.isdigit())]
    if bad_regions:
        return reject("DP_2001", f"region codes {bad_regions} are not 2-digit 시도 codes")
    # The content hash stays the collected record's: it is the identity the hot path and collection
    # use, so a redelivered record compares equal to the policy the cold path already cleaned.
    return announcement.model_copy(update={**cleaned, "url": url})
