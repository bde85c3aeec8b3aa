"""The bundled offline snapshot: every source's responses in its real wire format.

The files are replayed over real HTTP by :mod:`aegis_orchestration.sources.replay` and parsed
directly (no HTTP) by :func:`load_announcements` for tests and benchmarks. Which files belong to
which source, and how they are served, is each source's ``snapshot`` row in
:mod:`aegis_orchestration.sources.registry`. They are data: the generator that writes them is a
tool outside the package (``python -m tools.snapshot.generate OUTPUT_DIR`` from the repository
root, see ``tools/snapshot/generate.py``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from zoneinfo import ZoneInfo

from aegis_orchestration.sources.days import record_days
from aegis_orchestration.sources.page import SourcePage
from aegis_orchestration.sources.parsing import parse
from aegis_orchestration.sources.registry import source_specs, spec_for
from aegis_shared.models import Announcement

TIMEZONE = ZoneInfo("Asia/Seoul")


def snapshot_root() -> Traversable:
    """The folder holding the bundled files (works from an installed wheel too)."""
    return resources.files(__package__)


def snapshot_files(source: str) -> list[Traversable]:
    """The bundled files of ``source`` (its table row's ``snapshot`` glob), in page order."""
    pattern = spec_for(source).snapshot
    return files_matching(pattern) if pattern else []


def files_matching(pattern: str) -> list[Traversable]:
    """The bundled files matching ``pattern`` (``folder/*/name-*.ext``), in page order."""
    *folders, glob = pattern.split("/")
    roots = [snapshot_root()]
    for name in folders:
        # "*" walks every subfolder (one per web site).
        roots = [d for r in roots for d in (r.iterdir() if name == "*" else [r / name]) if d.is_dir()]
    prefix, _, suffix = glob.partition("*")
    files = [f for r in roots for f in r.iterdir() if f.name.startswith(prefix) and f.name.endswith(suffix)]
    return sorted(files, key=lambda f: (str(f).count("/"), len(str(f)), str(f)))


def load_pages(source: str) -> list[SourcePage]:
    """Parse every bundled file of ``source`` through :func:`aegis_orchestration.sources.parse`."""
    content_type = spec_for(source).content_type
    return [parse(source, f.read_bytes(), content_type) for f in snapshot_files(source)]


def load_announcements(source: str | None = None) -> list[Announcement]:
    """Every announcement of the snapshot (one source, or all), parsed offline."""
    sources = [source] if source else [s.name for s in source_specs() if s.snapshot]
    return [record for name in sources for page in load_pages(name) for record in page.records]


@cache
def snapshot_days() -> tuple[date, date]:
    """The bundled snapshot's own (first, last) collection day, before any re-anchoring.

    ``last`` is the newest registration or update date; ``first`` the oldest day any item belongs
    to (see :func:`aegis_orchestration.sources.days.record_days`).
    """
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
