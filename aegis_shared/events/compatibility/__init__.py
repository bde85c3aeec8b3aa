"""JSON Schema compatibility between two versions of an event schema, with Confluent's rules.

The rules are those of Confluent Schema Registry's JSON Schema provider, re-expressed here in
three steps, one module each:

- :mod:`.model` reads both schemas into a small typed model, the way Confluent's loader sees
  them (unions, implicit ``allOf``, local ``$ref``, draft 2019-09/2020-12 keywords);
- :mod:`.rules` walks the two models side by side and records every difference with
  Confluent's name for it and the JSON pointer where it happens;
- :mod:`.kinds` lists those names (:class:`ChangeKind`); a difference is breaking unless its
  kind is in :data:`COMPATIBLE_KINDS`.

This module is the public API. Direction: ``BACKWARD`` asks whether a reader holding
``candidate`` can read every document valid under ``previous``; ``FORWARD`` swaps the two;
``FULL`` needs both. Transitive modes are the same pairwise check; the schema registry applies
them against every earlier version.

Agreement with Confluent's own test corpus is measured by :mod:`aegis_shared.events.conformance`
(``aegis events conformance``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aegis_shared.errors import ValidationError
from aegis_shared.events.compatibility.kinds import COMPATIBLE_KINDS, ChangeKind
from aegis_shared.events.compatibility.model import Loader, Schema
from aegis_shared.events.compatibility.rules import differences

if TYPE_CHECKING:
    from aegis_shared.events.conformance import ConformanceReport, run_conformance

__all__ = [
    "COMPATIBLE_KINDS",
    "Change",
    "ChangeKind",
    "CompatibilityMode",
    "CompatibilityResult",
    "ConformanceReport",
    "check_compatibility",
    "parse_mode",
    "run_conformance",
]


class CompatibilityMode(StrEnum):
    """Confluent's subject compatibility levels."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def is_transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")

    @property
    def checks_backward(self) -> bool:
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def checks_forward(self) -> bool:
        return self.value.startswith(("FORWARD", "FULL"))


def parse_mode(mode: str | CompatibilityMode) -> CompatibilityMode:
    """Return the mode named by ``mode`` (case-insensitive); unknown names are a VALID_3001."""
    try:
        return CompatibilityMode(str(mode).strip().upper())
    except ValueError:
        raise ValidationError(
            "VALID_3001",
            f"unknown compatibility mode {mode!r}",
            details={"mode": str(mode), "allowed": [m.value for m in CompatibilityMode]},
        ) from None


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two schema versions."""

    kind: ChangeKind
    pointer: str
    breaking: bool
    message: str


@dataclass(frozen=True, slots=True)
class CompatibilityResult:
    """The verdict of :func:`check_compatibility` and every difference behind it."""

    is_compatible: bool
    changes: tuple[Change, ...]
    mode: CompatibilityMode = CompatibilityMode.BACKWARD

    @property
    def breaking_changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.breaking)


def check_compatibility(
    previous: Mapping[str, Any] | bool,
    candidate: Mapping[str, Any] | bool,
    mode: str | CompatibilityMode = "BACKWARD",
) -> CompatibilityResult:
    """Compare ``candidate`` against ``previous`` under ``mode``.

    Raises :class:`ValidationError` ``VALID_3001`` for an unknown mode and ``VALID_3012`` for
    something that is not a JSON Schema (not an object or boolean, or an unresolvable ``$ref``).
    """
    resolved = parse_mode(mode)
    old = Loader(previous, "previous").root()
    new = Loader(candidate, "candidate").root()

    if resolved is CompatibilityMode.NONE:
        # Differences are still reported, for information, but nothing is breaking.
        raw = differences(old, new)
        changes = tuple(Change(k, p, False, _message(k, p, "")) for k, p in raw)
        return CompatibilityResult(True, changes, resolved)

    changes_list: list[Change] = []
    directions: list[tuple[str, Schema, Schema]] = []
    if resolved.checks_backward:
        directions.append(("backward", old, new))
    if resolved.checks_forward:
        directions.append(("forward", new, old))
    label_needed = len(directions) > 1
    for name, reader_old, reader_new in directions:
        for kind, pointer in differences(reader_old, reader_new):
            breaking = kind not in COMPATIBLE_KINDS
            changes_list.append(
                Change(kind, pointer, breaking, _message(kind, pointer, name if label_needed else ""))
            )
    changes = tuple(changes_list)
    return CompatibilityResult(not any(c.breaking for c in changes), changes, resolved)


def _message(kind: ChangeKind, pointer: str, direction: str) -> str:
    words = kind.value.replace("_", " ").lower()
    prefix = f"{direction}: " if direction else ""
    verdict = "compatible" if kind in COMPATIBLE_KINDS else "breaking"
    return f"{prefix}{words} at {pointer} ({verdict})"


def __getattr__(name: str) -> Any:
    # The conformance runner moved to aegis_shared.events.conformance; these names still import
    # from here. Loaded on first use: the runner imports this package.
    if name in ("run_conformance", "ConformanceReport"):
        from aegis_shared.events import conformance

        return getattr(conformance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
