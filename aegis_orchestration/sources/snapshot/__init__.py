"""The bundled offline snapshot: every source's responses in its real wire format.

The files are replayed over real HTTP by :mod:`aegis_orchestration.sources.replay` and parsed
directly (no HTTP) by :func:`load_announcements` for tests and benchmarks. Regenerate them with
``python -m aegis_orchestration.sources.snapshot.generate``.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from aegis_shared.models import Announcement

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
