"""Shift every date in a source body by a whole number of days, keeping each one's format.

The replay server uses this to re-anchor the bundled snapshot to the run's day. Every format of
docs/sources.md §6 is handled, each written back in its own shape:

* ``2026-09-03``, ``2026.09.03``, ``2026. 10. 2.`` (with an optional ``(목)`` weekday, recomputed);
* ``20220727`` (only when it is a real calendar day, so ids and phone numbers are left alone);
* the year-less end of ``2025. 12. 15. ~ 1. 15.``, read against the start's year;
* RFC 822 ``pubDate`` values (``Fri, 10 Jul 2026 09:00:00 +0900``), weekday included.

Impossible dates (``2026-02-30``, ``2026-13-01``) are left exactly as they are: they are in the
snapshot on purpose, to be rejected.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from email.utils import format_datetime, parsedate_to_datetime

KO_WEEKDAYS = "월화수목금토일"

_DATES = re.compile(
    r"(?P<full>(?<!\d)(?P<y>20\d{2})(?P<s1>\s*[-./]\s*)(?P<m>\d{1,2})(?P<s2>\s*[-./]\s*)(?P<d>\d{1,2})"
    r"(?!\d)(?P<dot>\.)?(?P<wd>\([월화수목금토일]\))?)"
    r"|(?P<compact>(?<!\d)(?P<cy>20\d{2})(?P<cm>\d{2})(?P<cd>\d{2})(?!\d))"
    r"|(?P<tail>(?P<tilde>[~～]\s*)(?P<tm>\d{1,2})\.\s*(?P<td>\d{1,2})\.(?P<twd>\([월화수목금토일]\))?)"
)
_RFC822 = re.compile(r"(<pubDate>)([^<]+)(</pubDate>)")


def _width(padded: bool, value: int) -> str:
    return f"{value:02d}" if padded else str(value)


def _weekday(marker: str | None, day: date) -> str:
    return f"({KO_WEEKDAYS[day.weekday()]})" if marker else ""


def shift_text(text: str, days: int) -> str:
    """``text`` with every date moved by ``days`` days (see the module docstring)."""
    if not days:
        return text
    delta = timedelta(days=days)
    last_full: date | None = None

    def replace(match: re.Match[str]) -> str:
        nonlocal last_full
        if match["full"]:
            try:
                original = date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                return match[0]
            last_full = original
            new = original + delta
            # "2026-03-01" and "2026.03.01" are zero-padded; "2026. 3. 1." is not.
            padded = not any(sep.isspace() for sep in match["s1"] + match["s2"])
            return (
                f"{new.year}{match['s1']}{_width(padded, new.month)}{match['s2']}"
                f"{_width(padded, new.day)}{match['dot'] or ''}{_weekday(match['wd'], new)}"
            )
        if match["compact"]:
            try:
                original = date(int(match["cy"]), int(match["cm"]), int(match["cd"]))
            except ValueError:
                return match[0]
            last_full = original
            return f"{original + delta:%Y%m%d}"
        # A year-less end ("~ 1. 15."): it belongs to the start's year, or the next one.
        if last_full is None:
            return match[0]
        try:
            end = date(last_full.year, int(match["tm"]), int(match["td"]))
        except ValueError:
            return match[0]
        if end < last_full:
            end = date(end.year + 1, end.month, end.day)
        new = end + delta
        return f"{match['tilde']}{new.month}. {new.day}.{_weekday(match['twd'], new)}"

    return _DATES.sub(replace, text)


def shift_rfc822(text: str, days: int) -> str:
    """Shift every ``<pubDate>`` (RFC 822) in an RSS document, keeping its zone."""
    if not days:
        return text

    def replace(match: re.Match[str]) -> str:
        try:
            moment = parsedate_to_datetime(match[2].strip())
        except (TypeError, ValueError, IndexError):
            return match[0]
        return f"{match[1]}{format_datetime(moment + timedelta(days=days))}{match[3]}"

    return _RFC822.sub(replace, text)
