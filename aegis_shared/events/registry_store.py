"""Where the event schema registry keeps its subjects: files (the package's own by default), or PostgreSQL.

File layout (:class:`FileRegistryStore`, root normally ``aegis_shared/schemas/events``)::

    schemas/events/
      PolicyCreated/            one directory per subject, named exactly as the event type
        v1.json                 version 1: the JSON Schema of the event's ``data``, as-is
        v2.json                 versions are consecutive integers from 1
        subject.json            {"mode": "BACKWARD", "deprecated": {"1": "reason"}}

``subject.json`` is optional: without it the mode is the registry default (BACKWARD) and no
version is deprecated. Writing a new ``v<N+1>.json`` by hand is allowed, but only
``aegis events register`` checks compatibility before writing.

PostgreSQL layout (:class:`PostgresRegistryStore`), created with SQLAlchemy Core if missing:

* ``event_schemas(subject, version, schema jsonb, fingerprint, mode, deprecated,
  deprecation_reason, created_at)``, primary key ``(subject, version)`` and unique
  ``(subject, fingerprint)`` so that no identical schema is stored twice under one subject;
  ``mode`` is the subject's mode when that version was registered.
* ``event_schema_subjects(subject primary key, mode, updated_at)``: the subject's current mode.

Both stores append under a per-subject lock (``flock`` on the root directory; a transaction
holding ``pg_advisory_xact_lock`` on the subject), so the compatibility decision and the insert
happen atomically: two concurrent registrations can neither skip each other's check nor create
two versions of one schema.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from aegis_shared.errors import AegisError, ValidationError
from aegis_shared.events.compatibility import CompatibilityMode, parse_mode

DEFAULT_MODE = CompatibilityMode.BACKWARD
_SUBJECT = re.compile(r"^[A-Z][A-Za-z0-9]{0,127}$")
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.json$")


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One registered version of a subject's schema."""

    subject: str
    version: int
    schema: Mapping[str, Any]
    mode: CompatibilityMode = DEFAULT_MODE
    deprecated: bool = False
    deprecation_reason: str | None = None
    created_at: datetime | None = None

    @property
    def fingerprint(self) -> str:
        return schema_fingerprint(self.schema)


@dataclass(frozen=True, slots=True)
class SubjectState:
    """A subject's current mode and every version, oldest first."""

    subject: str
    mode: CompatibilityMode
    versions: tuple[SchemaVersion, ...]

    @property
    def latest(self) -> SchemaVersion | None:
        return self.versions[-1] if self.versions else None

    def find(self, fingerprint: str) -> SchemaVersion | None:
        return next((v for v in self.versions if v.fingerprint == fingerprint), None)


# Called with the subject's state under the lock, before a new version is written; it raises to
# refuse the version (for example because it breaks the subject's compatibility mode).
Gate = Callable[[SubjectState], None]


class RegistryStore(Protocol):
    """Persistence of subjects, versions, modes and deprecations."""

    def subjects(self) -> list[str]: ...

    def state(self, subject: str) -> SubjectState: ...

    def append(self, subject: str, schema: Mapping[str, Any], gate: Gate) -> tuple[SchemaVersion, bool]:
        """Store ``schema`` as the next version unless an identical one exists.

        Returns the stored (or already existing) version and whether it was created.
        """
        ...

    def set_mode(self, subject: str, mode: CompatibilityMode) -> None: ...

    def deprecate(self, subject: str, version: int, reason: str) -> SchemaVersion: ...


def canonical_json(schema: Mapping[str, Any]) -> str:
    """Key-sorted compact JSON: two schemas are identical when these strings are."""
    return json.dumps(schema, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    # Stored schemas are handed out as read-only mapping proxies; serialise them as objects.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def schema_fingerprint(schema: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(schema).encode("utf-8")).hexdigest()


def validate_subject(subject: str) -> str:
    """Subjects are event types in PascalCase; anything else (paths, dots) is refused."""
    if not isinstance(subject, str) or not _SUBJECT.match(subject):
        raise ValidationError(
            "VALID_3003",
            f"subject {subject!r} is not a PascalCase event type name",
            details={"subject": str(subject)},
        )
    return subject


def subject_not_found(subject: str) -> ValidationError:
    return ValidationError(
        "VALID_3007", f"no schema is registered for subject {subject!r}", details={"subject": subject}
    )


def version_not_found(subject: str, version: int) -> AegisError:
    return AegisError(
        "DB_4001",
        f"subject {subject!r} has no version {version}",
        details={"subject": subject, "version": version},
    )


class FileRegistryStore:
    """Subjects as directories of ``v<N>.json`` files; see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def subjects(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and _SUBJECT.match(p.name) and any(_VERSION_FILE.match(f.name) for f in p.iterdir())
        )

    def state(self, subject: str) -> SubjectState:
        directory = self.root / validate_subject(subject)
        settings = self._read_settings(directory)
        mode = parse_mode(settings.get("mode", DEFAULT_MODE))
        deprecated = {int(k): str(v) for k, v in dict(settings.get("deprecated", {})).items()}
        versions: list[SchemaVersion] = []
        for number, path in self._version_files(directory):
            versions.append(
                SchemaVersion(
                    subject=subject,
                    version=number,
                    schema=MappingProxyType(self._read_json(path)),
                    mode=mode,
                    deprecated=number in deprecated,
                    deprecation_reason=deprecated.get(number),
                    created_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                )
            )
        expected = list(range(1, len(versions) + 1))
        if [v.version for v in versions] != expected:
            raise ValidationError(
                "VALID_3012",
                f"subject {subject!r} has a gap in its version files under {directory}",
                details={"subject": subject, "versions": [v.version for v in versions]},
            )
        return SubjectState(subject, mode, tuple(versions))

    def append(self, subject: str, schema: Mapping[str, Any], gate: Gate) -> tuple[SchemaVersion, bool]:
        directory = self.root / validate_subject(subject)
        with self._locked():
            state = self.state(subject)
            existing = state.find(schema_fingerprint(schema))
            if existing is not None:
                return existing, False
            gate(state)
            number = len(state.versions) + 1
            directory.mkdir(parents=True, exist_ok=True)
            text = json.dumps(schema, ensure_ascii=False, indent=2, default=_plain) + "\n"
            self._write_atomic(directory / f"v{number}.json", text)
            return self.state(subject).versions[number - 1], True

    def set_mode(self, subject: str, mode: CompatibilityMode) -> None:
        directory = self.root / validate_subject(subject)
        with self._locked():
            settings = self._read_settings(directory)
            settings["mode"] = parse_mode(mode).value
            directory.mkdir(parents=True, exist_ok=True)
            self._write_settings(directory, settings)

    def deprecate(self, subject: str, version: int, reason: str) -> SchemaVersion:
        directory = self.root / validate_subject(subject)
        with self._locked():
            state = self.state(subject)
            if not state.versions:
                raise subject_not_found(subject)
            if not 1 <= version <= len(state.versions):
                raise version_not_found(subject, version)
            settings = self._read_settings(directory)
            deprecated = dict(settings.get("deprecated", {}))
            deprecated[str(version)] = reason
            settings["deprecated"] = dict(sorted(deprecated.items(), key=lambda kv: int(kv[0])))
            self._write_settings(directory, settings)
            return self.state(subject).versions[version - 1]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # One lock for the whole root: registrations are rare, and a directory lock leaves no
        # lock files behind in the repository.
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @staticmethod
    def _version_files(directory: Path) -> list[tuple[int, Path]]:
        if not directory.is_dir():
            return []
        found = []
        for path in directory.iterdir():
            match = _VERSION_FILE.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError(
                "VALID_3012", f"cannot read schema file {path}: {exc}", details={"path": str(path)}
            ) from exc
        if not isinstance(value, dict):
            raise ValidationError(
                "VALID_3012", f"schema file {path} does not hold a JSON object", details={"path": str(path)}
            )
        return value

    def _read_settings(self, directory: Path) -> dict[str, Any]:
        path = directory / "subject.json"
        return self._read_json(path) if path.exists() else {}

    def _write_settings(self, directory: Path, settings: Mapping[str, Any]) -> None:
        self._write_atomic(directory / "subject.json", json.dumps(settings, indent=2) + "\n")

    @staticmethod
    def _write_atomic(path: Path, text: str) -> None:
        # Write beside the target and rename, so a crash never leaves half a schema file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# The PostgreSQL store needs SQLAlchemy (the ``db`` extra); the file store and the registry itself
# are core, so it lives in its own module and is only imported when asked for.
_POSTGRES_NAMES = frozenset({"PostgresRegistryStore", "event_schemas", "event_schema_subjects"})


def __getattr__(name: str) -> Any:
    if name not in _POSTGRES_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module("aegis_shared.events.registry_pg"), name)
