"""The schemas the library ships: event JSON Schemas and the database schema registry.

They live inside the package (``events/<EventType>/v<N>.json`` and ``db/<table>.yaml``) so a
service that installs the wheel validates events and loads the registry exactly as this
repository does; they are located with :mod:`importlib.resources`, never relative to a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from aegis_shared.errors import SystemError_


def bundled(kind: str) -> Traversable:
    """The bundled folder ``kind`` (``"events"`` or ``"db"``), for readers that only read files."""
    return files(__name__).joinpath(kind)


def bundled_path(kind: str) -> Path:
    """The bundled folder as a filesystem path, for readers that glob, lock or write beside it.

    pip unpacks wheels, so this is the normal case; only an import from a zip archive has no
    path, and that is SYS_7011 rather than a confusing "no schemas found" later.
    """
    folder = bundled(kind)
    if not isinstance(folder, Path):
        raise SystemError_(
            "SYS_7011",
            f"aegis_shared's bundled {kind} schemas are inside an archive ({folder}); install the "
            "package unpacked (pip install) to use them",
            details={"kind": kind},
        )
    return folder


def events_dir() -> Traversable:
    """``events/``: one folder per event type, one ``v<N>.json`` per version."""
    return bundled("events")


def db_dir() -> Traversable:
    """``db/``: one YAML file per table of the database schema registry."""
    return bundled("db")
