"""The bundled offline snapshot: every source's responses in its real wire format.

The files are replayed over real HTTP by :mod:`aegis_orchestration.sources.replay` and parsed
directly (no HTTP) by :func:`load_announcements` for tests and benchmarks. Regenerate them with
``python -m aegis_orchestration.sources.snapshot.generate``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from zoneinfo import ZoneInfo

from aegis_shared.models import Announcement

TIMEZONE = ZoneInfo("Asia/Seoul")

# source → (glob of its bundled files, content type they are served with)
SNAPSHOT_FILES: dict[str, tuple[str, str]] = {
    "bizinfo": ("bizinfo/page-*.json", "application/json;charset=UTF-8"),
    "kstartup": ("kstartup/page-*.json", "application/json;charset=UTF-8"),
    "mss": ("mss/page-*.xml", "text/xml;charset=UTF-8"),
    "rss": ("rss/*.xml", "application/rss+xml"),
    "web": ("web/*/detail-*.html", "text/html"),
}


def snapshot_root() -> Traversable:
    """The folder holding the bundled files (works from an installed wheel too)."""
    return resources.files(__package__)


def snapshot_files(source: str) -> list[Traversable]:
    """The bundled files of ``source``, in page order."""
    pattern, _ = SNAPSHOT_FILES[source]
    *folders, glob = pattern.split("/")
    roots = [snapshot_root()]
    for name in folders:
        # "*" walks every subfolder (one per web site).
        roots = [d for r in roots for d in (r.iterdir() if name == "*" else [r / name]) if d.is_dir()]
    prefix, _, suffix = glob.partition("*")
    files = [f for r in roots for f in r.iterdir() if f.name.startswith(prefix) and f.name.endswith(suffix)]
    return sorted(files, key=lambda f: (str(f).count("/"), len(str(f)), str(f)))


def load_pages(source: str) -> list:
    """Parse every bundled file of ``source`` through :func:`aegis_orchestration.sources.parse`."""
    from aegis_orchestration.sources.parsing import parse

    _, content_type = SNAPSHOT_FILES[source]
    return [parse(source, f.read_bytes(), content_type) for f in snapshot_files(source)]


def load_announcements(source: str | None = None) -> list[Announcement]:
    """Every announcement of the snapshot (one source, or all), parsed offline."""
    sources = [source] if source else list(SNAPSHOT_FILES)
    return [record for name in sources for page in load_pages(name) for record in page.records]


@cache
def snapshot_days() -> tuple[date, date]:
    """The bundled snapshot's own (first, last) collection day, before any re-anchoring.

    ``last`` is the newest registration or update date; ``first`` the oldest day any item belongs
    to (see :func:`aegis_orchestration.sources.days.record_days`).
    """
    from aegis_orchestration.sources.days import record_days

    records = load_announcements()
    last = max(d for r in records for d in (r.registered_on, r.updated_on) if d is not None)
    first = min(d for r in records for d in record_days(r))
    return first, last


def today_in_seoul() -> date:
    return datetime.now(TIMEZONE).date()


def anchor_shift(anchor: date | None) -> int:
    """Days to add to every snapshot date so that its newest registration/update is ``anchor - 1``.

    ``None`` serves the snapshot as written (no shift).
    """
    if anchor is None:
        return 0
    return (anchor - timedelta(days=1) - snapshot_days()[1]).days


def snapshot_window(anchor: date | None) -> tuple[date, date]:
    """The (first, last) days holding data when the snapshot is re-anchored to ``anchor``.

    Collecting every day × source partition in this range collects the whole snapshot, except
    K-Startup calls whose receipt opens after ``last`` (they land on the day they open). With
    ``anchor=None`` the unshifted range is returned. The last day is always ``anchor - 1``.
    """
    first, last = snapshot_days()
    shift = timedelta(days=anchor_shift(anchor))
    return first + shift, last + shift
