"""The event schema registry: one subject per event type, numbered versions, enforced modes.

A new version is accepted only when it is a valid JSON Schema and keeps the subject's
compatibility mode against the versions that mode names: the latest one for BACKWARD, FORWARD
and FULL, every earlier one for their ``_TRANSITIVE`` forms, none for NONE. A refused version
raises ``VALID_3006`` listing each breaking change with its JSON pointer; an invalid schema
raises ``VALID_3012``. Registering a schema identical to an existing version returns that
version. Deprecated versions stay readable and keep taking part in transitive checks (data
written with them may still be in topics), but are flagged.

Persistence is pluggable (:mod:`aegis_shared.events.registry_store`): the files shipped in the
package by default, PostgreSQL for a shared deployment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from aegis_shared.errors import ValidationError
from aegis_shared.events.compatibility import (
    Change,
    CompatibilityMode,
    CompatibilityResult,
    check_compatibility,
    parse_mode,
)
from aegis_shared.events.registry_store import (
    FileRegistryStore,
    RegistryStore,
    SchemaVersion,
    SubjectState,
    canonical_json,
    subject_not_found,
    validate_subject,
    version_not_found,
)
from aegis_shared.schemas import bundled_path

LATEST = "latest"
# The library's own registry: aegis_shared/schemas/events, shipped in the wheel.
DEFAULT_SCHEMAS_DIR = bundled_path("events")


@dataclass(frozen=True, slots=True)
class RegistrationOutcome:
    """What :meth:`SchemaRegistry.register_schema` did."""

    version: SchemaVersion
    created: bool


class SchemaRegistry:
    """Subjects, versions, modes and deprecations over a :class:`RegistryStore`."""

    def __init__(self, store: RegistryStore | None = None) -> None:
        self.store: RegistryStore = store if store is not None else FileRegistryStore(DEFAULT_SCHEMAS_DIR)

    # ---- reading ---------------------------------------------------------------------------

    def subjects(self) -> list[str]:
        return self.store.subjects()

    def versions(self, subject: str) -> list[int]:
        """Version numbers of ``subject``, oldest first; unknown subjects are a VALID_3007."""
        return [v.version for v in self._existing(subject).versions]

    def get(self, subject: str, version: int | str = LATEST) -> SchemaVersion:
        """One version (``"latest"`` by default); deprecated versions are returned, flagged."""
        state = self._existing(subject)
        if version == LATEST:
            return state.versions[-1]
        number = _version_number(version)
        if not 1 <= number <= len(state.versions):
            raise version_not_found(subject, number)
        return state.versions[number - 1]

    def mode(self, subject: str) -> CompatibilityMode:
        return self.store.state(validate_subject(subject)).mode

    # ---- writing ---------------------------------------------------------------------------

    def set_mode(self, subject: str, mode: str | CompatibilityMode) -> None:
        self.store.set_mode(validate_subject(subject), parse_mode(mode))

    def deprecate(self, subject: str, version: int, reason: str) -> SchemaVersion:
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationError(
                "VALID_3002", "a deprecation needs a reason", details={"subject": subject, "version": version}
            )
        return self.store.deprecate(validate_subject(subject), _version_number(version), reason.strip())

    def check(self, subject: str, schema: Mapping[str, Any]) -> CompatibilityResult:
        """Would ``schema`` be accepted as the next version of ``subject``? Writes nothing."""
        validate_subject(subject)
        validate_schema(schema)
        return self._evaluate(self.store.state(subject), schema)

    def register(self, subject: str, schema: Mapping[str, Any]) -> int:
        """Store ``schema`` as the next version of ``subject`` and return its number."""
        return self.register_schema(subject, schema).version.version

    def register_schema(self, subject: str, schema: Mapping[str, Any]) -> RegistrationOutcome:
        """Like :meth:`register`, also saying whether a new version was created."""
        validate_subject(subject)
        validate_schema(schema)

        def gate(state: SubjectState) -> None:
            result = self._evaluate(state, schema)
            if not result.is_compatible:
                raise _incompatible(state, result)

        stored, created = self.store.append(subject, schema, gate)
        return RegistrationOutcome(stored, created)

    # ---- internals -------------------------------------------------------------------------

    def _existing(self, subject: str) -> SubjectState:
        state = self.store.state(validate_subject(subject))
        if not state.versions:
            raise subject_not_found(subject)
        return state

    @staticmethod
    def _evaluate(state: SubjectState, schema: Mapping[str, Any]) -> CompatibilityResult:
        """Check ``schema`` against the versions the subject's mode names, newest first."""
        mode = state.mode
        if mode is CompatibilityMode.NONE or not state.versions:
            return CompatibilityResult(True, (), mode)
        against = list(reversed(state.versions)) if mode.is_transitive else [state.versions[-1]]
        changes: list[Change] = []
        for previous in against:
            result = check_compatibility(previous.schema, schema, mode)
            changes.extend(
                Change(c.kind, c.pointer, c.breaking, f"against v{previous.version}: {c.message}")
                for c in result.changes
            )
        return CompatibilityResult(not any(c.breaking for c in changes), tuple(changes), mode)


def validate_schema(schema: Any) -> None:
    """Refuse (VALID_3012) anything that is not a JSON Schema object with resolvable local refs."""
    if not isinstance(schema, Mapping):
        raise ValidationError(
            "VALID_3012",
            f"an event schema must be a JSON object, got {type(schema).__name__}",
            details={"type": type(schema).__name__},
        )
    # jsonschema wants plain dicts; read-only views of stored versions are mappings too.
    plain = json.loads(canonical_json(schema))
    validator = validator_for(plain, default=Draft7Validator)
    try:
        validator.check_schema(plain)
    except SchemaError as exc:
        pointer = "#/" + "/".join(str(p) for p in exc.absolute_path)
        raise ValidationError(
            "VALID_3012",
            f"invalid JSON Schema at {pointer}: {exc.message}",
            details={"pointer": pointer, "reason": exc.message, "validator": str(exc.validator)},
        ) from None
    for pointer, ref in _local_refs(schema, "#"):
        if not _resolves(schema, ref):
            raise ValidationError(
                "VALID_3012",
                f"$ref {ref!r} at {pointer} points at nothing in the schema",
                details={"pointer": pointer, "ref": ref},
            )


def _local_refs(node: Any, pointer: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            found.append((pointer, ref))
        for key, value in node.items():
            if key in ("enum", "const", "default", "examples"):
                continue  # data, not subschemas
            token = str(key).replace("~", "~0").replace("/", "~1")
            found.extend(_local_refs(value, f"{pointer}/{token}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_local_refs(value, f"{pointer}/{index}"))
    return found


def _resolves(document: Mapping[str, Any], ref: str) -> bool:
    node: Any = document
    fragment = ref[1:].lstrip("/")
    for raw_token in fragment.split("/") if fragment else []:
        token = raw_token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def _version_number(version: int | str) -> int:
    try:
        number = int(version)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or isinstance(version, bool):
        raise ValidationError(
            "VALID_3004",
            f"version must be a positive integer or 'latest', got {version!r}",
            details={"version": str(version)},
        )
    return number


def _incompatible(state: SubjectState, result: CompatibilityResult) -> ValidationError:
    breaking = result.breaking_changes
    next_version = len(state.versions) + 1
    named = "; ".join(f"{c.kind} at {c.pointer} ({c.message.split(':', 1)[0]})" for c in breaking)
    return ValidationError(
        "VALID_3006",
        f"{state.subject} v{next_version} breaks {state.mode.value} compatibility: {named}",
        details={
            "subject": state.subject,
            "mode": state.mode.value,
            "breaking_changes": [
                {"kind": c.kind, "pointer": c.pointer, "message": c.message} for c in breaking
            ],
        },
    )
