"""Application periods (신청기간/접수기간) as published → structured start, end and notes.

Every form listed in docs/sources.md §6 is understood: ISO, compact ``YYYYMMDD``, dotted with or
without spaces, weekday and time suffixes, an end without a year (it rolls into the next year
when it would fall before the start), full-width tildes and trailing notes. Open-ended text
(상시 접수, 예산 소진시까지, 사업별 상이) is a value, not a failure; only a date that cannot exist
(month 13, 30 February, an end before its start) raises :class:`PeriodError` (DP_2004).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from aegis_shared.errors import ValidationError
from aegis_shared.text.markup import collapse_whitespace

_OPEN_ENDED_MARKERS = (
    "상시",
    "소진",
    "상이",
    "수시",
    "별도 공지",
    "별도공지",
    "추후 공지",
    "추후공지",
    "미정",
    "마감시까지",
    "마감 시까지",
)

# One date: either a full date with a year or a month/day pair (for ends written without year).
# The lookarounds keep "2026-09-03" from being read as day "09-03" of something else.
_FULL_DATE = re.compile(
    r"(?<!\d)(?P<y>\d{4})\s*(?:[.\-/년]\s*)?(?P<m>\d{1,2})\s*(?:[.\-/월]\s*)?(?P<d>\d{1,2})(?!\d)\s*[.일]?"
)
_MONTH_DAY = re.compile(r"(?<![\d.])(?P<m>\d{1,2})\s*[.\-/월]\s*(?P<d>\d{1,2})(?!\d)\s*[.일]?")
# A two-digit year, as notices often abbreviate it: "26.03.01", "'26. 3. 1.", "26-03-01".
_SHORT_YEAR_DATE = re.compile(
    r"(?<![\d.])'?(?P<y>\d{2})\s*(?P<sep>[.\-/])\s*(?P<m>\d{1,2})\s*(?P=sep)\s*(?P<d>\d{1,2})(?![\d])\s*\.?"
)
_COMPACT = re.compile(r"(?<!\d)(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?!\d)")
# "부터" joins a range too: "2026-03-01 부터 2026-03-31 까지".
_SEPARATOR = re.compile(r"\s*[~～〜∼]\s*|\s+[-–—]\s+|\s*부터\s*")
# A field label some pages keep in front of the period: "접수기간 : 2026-03-01 ~".
_LABEL = re.compile(r"^\s*[가-힣][가-힣\s]{0,10}[:：]\s*")
# Things that follow a date and carry no information of their own: weekday, time, "까지".
_DECORATION = re.compile(r"\(\s*[월화수목금토일]\s*\)|\d{1,2}\s*:\s*\d{2}(?:\s*:\s*\d{2})?|까지|부터")
_STARTS_FROM = re.compile(r"부터|이후|시작")
# What a start-only period says around its date that is not a note (weekday, time, "from").
_START_WORDS = re.compile(r"\(\s*[월화수목금토일]\s*\)|\d{1,2}\s*:\s*\d{2}(?:\s*:\s*\d{2})?|부터|이후|시작")
NO_END_NOTE = "종료일 미기재"
"""The note of a period that names a start and no end ("2026-03-01 ~", "2026.03.01부터")."""
_NOTE = re.compile(r"[(\[]\s*([^()\[\]]*[가-힣][^()\[\]]*)\s*[)\]]")


class PeriodError(ValidationError):
    """A period naming a date that cannot exist (DP_2004)."""

    default_code = "DP_2004"


@dataclass(frozen=True, slots=True)
class Period:
    """A parsed application period. ``open_ended`` means no fixed end (until budget runs out…)."""

    start: date | None = None
    end: date | None = None
    open_ended: bool = False
    note: str | None = None


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise PeriodError(
            message=f"impossible date {year:04d}-{month:02d}-{day:02d} in period", details={"text": text}
        ) from exc


def _parse_side(side: str, text: str, *, default_year: int | None) -> tuple[date | None, bool]:
    """Parse one side of a range. Returns (date, year_was_given)."""
    side = _DECORATION.sub(" ", side)
    compact = _COMPACT.search(side)
    if compact:
        return _make_date(int(compact["y"]), int(compact["m"]), int(compact["d"]), text), True
    full = _FULL_DATE.search(side)
    if full:
        return _make_date(int(full["y"]), int(full["m"]), int(full["d"]), text), True
    short = _SHORT_YEAR_DATE.search(side)
    if short:
        return _make_date(2000 + int(short["y"]), int(short["m"]), int(short["d"]), text), True
    month_day = _MONTH_DAY.search(side)
    if month_day and default_year is not None:
        return _make_date(default_year, int(month_day["m"]), int(month_day["d"]), text), False
    return None, False


def _extract_notes(text: str) -> tuple[str, list[str]]:
    """Remove parenthesised Korean notes, e.g. ``(예산 소진 시 조기마감)``; weekdays stay for later."""
    notes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        if re.fullmatch(r"[월화수목금토일]", inner):
            return match.group(0)
        notes.append(inner)
        return " "

    return _NOTE.sub(keep, text), notes


def parse_period(text: str | None, today: date | None = None) -> Period:
    """Parse a published application period.

    ``today`` supplies the year for periods written entirely without one (``1. 15. ~ 2. 15.``).
    """
    if text is None or not text.strip():
        return Period()
    original = collapse_whitespace(_LABEL.sub("", text))
    body, notes = _extract_notes(original)
    open_ended = any(marker in original for marker in _OPEN_ENDED_MARKERS)

    parts = _SEPARATOR.split(body, maxsplit=1)
    left = parts[0]
    right = parts[1] if len(parts) > 1 else ""
    # "X ~" and "X부터" name a start and say nothing of the end: open-ended, never one day.
    start_only = (len(parts) > 1 and not right.strip()) or bool(_STARTS_FROM.search(left))
    fallback_year = (today or date.today()).year

    start, start_has_year = _parse_side(left, original, default_year=fallback_year)
    end: date | None = None
    if right:
        end, end_has_year = _parse_side(right, original, default_year=start.year if start else fallback_year)
        if start and end and end < start:
            if not end_has_year:
                # "2025. 12. 15. ~ 1. 15.": a year-less end before its start is in the next year.
                end = _make_date(end.year + 1, end.month, end.day, original)
            else:
                raise PeriodError(message="period ends before it starts", details={"text": original})
        # Open-ended text on the right ("~ 예산 소진시까지") leaves no date there.
        if end is None and re.search(r"[가-힣]", _DECORATION.sub(" ", right)):
            notes.insert(0, collapse_whitespace(right))
    elif start is None:
        # No date at all: the whole text is a note (open-ended or not).
        notes.insert(0, collapse_whitespace(body))
    if start is not None and not start_has_year and end is None:
        start = None  # a lone month/day with no year anywhere is too ambiguous to keep

    if end is None and start is not None and start_only:
        dateless = _FULL_DATE.sub(" ", _COMPACT.sub(" ", left))
        rest = collapse_whitespace(_START_WORDS.sub(" ", dateless))
        if re.search(r"[가-힣]", rest):
            notes.insert(0, rest)  # "2026.03.01부터 예산 소진 시까지": the words say how it ends
        elif not notes:
            notes.append(NO_END_NOTE)
    elif end is None and start is not None and not right:
        # A single date ("2026-09-30 까지" or "2026-09-03"): treat it as the deadline when the
        # text says 까지/마감, else as a one-day window.
        if re.search(r"까지|마감", original):
            start, end = None, start
        else:
            end = start
    # A fixed end wins over "may close early" notes; no end with a start or a marker is open.
    open_ended = end is None and (open_ended or start is not None)
    note = " ".join(n for n in notes if n) or None
    return Period(start=start, end=end, open_ended=open_ended, note=note)
