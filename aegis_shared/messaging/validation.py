"""Schema validation of event ``data``, with compiled validators cached per (type, version).

Compiling a JSON Schema validator costs far more than running it, so each (event type, registry
version) is compiled once per process. Publishing validates against the latest registered
version; reading validates against the version the envelope names, with these rules:

* the exact "major.minor" is known → that schema;
* same major, newer minor than any known → the newest known schema of that major (newer minors
  only add optional fields, and the schemas have open content models, so old readers read them);
* unknown major → VALID_3008, unknown event type → VALID_3007.

Valid data is checked by ``jsonschema-rs`` (compiled Rust, about a microsecond per event) when it
is installed; only invalid data goes through the pure-Python ``jsonschema`` as well, to report the
best-matching error with its JSON pointer. Both treat ``format`` as an annotation, so they agree.
Values ``jsonschema-rs`` cannot read (a ``datetime``, a non-dict mapping) take the Python path too.
A batch is checked by one Rust call against an array of the schema (a ``$ref`` to it, so its own
``$id`` and internal references resolve as they do alone); only a failing batch is checked item by
item, so the error is the one :meth:`SchemaValidators.validate` gives for its first bad item.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for

from aegis_shared.errors import AegisError, ValidationError

try:  # Rust validator: ~100x faster than jsonschema on the success path that publishing takes.
    import jsonschema_rs
except ImportError:  # pragma: no cover - still correct, only slower
    jsonschema_rs = None  # type: ignore[assignment]  # optional: None selects the Python validator
from aegis_shared.events.catalogue import schema_event_version
from aegis_shared.events.envelope import parse_event_version


class SchemaSource(Protocol):
    """What validation needs from a schema registry: its versions and their schemas."""

    def versions(self, subject: str) -> Sequence[int]: ...

    def get(self, subject: str, version: int | str = "latest") -> Any: ...


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    event_type: str
    registry_version: int
    event_version: str
    major: int
    minor: int
    validator: Validator
    fast: Any = None  # jsonschema_rs validator, when available
    fast_many: Any = None  # jsonschema_rs validator of an array of such documents


def _schema_mapping(obj: Any) -> Mapping[str, Any]:
    """Registries may return the schema itself or a record holding it in ``.schema``."""
    if isinstance(obj, Mapping):
        return obj
    schema = getattr(obj, "schema", None)
    if isinstance(schema, Mapping):
        return schema
    raise TypeError(f"registry returned {type(obj).__name__}, not a schema mapping")


class SchemaValidators:
    """Compiled, cached validators over a :class:`SchemaSource`. Thread-safe."""

    def __init__(self, registry: SchemaSource) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._by_type: dict[str, tuple[CompiledSchema, ...]] = {}
        # for_version per (type, version): the consumer asks it for every message.
        self._by_version: dict[tuple[str, str], CompiledSchema] = {}

    def refresh(self) -> None:
        """Forget cached schemas so newly registered versions are picked up."""
        with self._lock:
            self._by_type.clear()
            self._by_version.clear()

    def _compiled(self, event_type: str) -> tuple[CompiledSchema, ...]:
        cached = self._by_type.get(event_type)
        if cached is not None:
            return cached
        try:
            versions = list(self.registry.versions(event_type))
        except (AegisError, KeyError, LookupError):
            versions = []
        if not versions:
            raise ValidationError(
                "VALID_3007",
                f"no schema registered for event type {event_type!r}",
                details={"event_type": event_type},
            )
        compiled = []
        for number in sorted(versions):
            schema = _schema_mapping(self.registry.get(event_type, number))
            event_version = schema_event_version(schema, number)
            major, minor = parse_event_version(event_version)
            cls = _mapping_is_object(validator_for(schema, default=Draft202012Validator))
            fast, fast_many = _rust_validators(f"urn:aegis:schema:{event_type}:{number}", schema)
            compiled.append(
                CompiledSchema(event_type, number, event_version, major, minor, cls(schema), fast, fast_many)
            )
        result = tuple(compiled)
        with self._lock:
            self._by_type[event_type] = result
        return result

    def latest(self, event_type: str) -> CompiledSchema:
        """The newest registered schema: what producers write."""
        return self._compiled(event_type)[-1]

    def for_version(self, event_type: str, event_version: str) -> CompiledSchema:
        """The schema a reader uses for an envelope of ``event_version`` (rules in the module doc)."""
        key = (event_type, event_version)
        found = self._by_version.get(key)
        if found is None:
            found = self._by_version[key] = self._for_version(event_type, event_version)
        return found

    def _for_version(self, event_type: str, event_version: str) -> CompiledSchema:
        major, minor = parse_event_version(event_version)
        same_major = [c for c in self._compiled(event_type) if c.major == major]
        if not same_major:
            known = sorted({c.event_version for c in self._compiled(event_type)})
            raise ValidationError(
                "VALID_3008",
                f"{event_type} {event_version}: major {major} is not supported",
                details={"event_type": event_type, "event_version": event_version, "known_versions": known},
            )
        exact = [c for c in same_major if c.minor == minor]
        if exact:
            return exact[-1]
        older = [c for c in same_major if c.minor < minor]
        # A minor older than every known one is still readable by the oldest schema of the major.
        return max(older, key=lambda c: c.minor) if older else min(same_major, key=lambda c: c.minor)

    @staticmethod
    def validate(compiled: CompiledSchema, data: Any) -> None:
        """Raise VALID_3005 naming the failing JSON pointer (under ``/data``) if ``data`` is invalid."""
        if compiled.fast is not None and _rust_accepts(compiled.fast, data):
            return
        errors = compiled.validator.iter_errors(data)
        first = next(errors, None)
        if first is None:
            return
        error = best_match([first, *errors])
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, Mapping):
            # Point at the missing member itself, not at the object that lacks it.
            path += [name for name in error.validator_value if name not in error.instance][:1]
        pointer = "/data" + "".join(f"/{p}" for p in path)
        schema_pointer = "/" + "/".join(str(p) for p in error.absolute_schema_path)
        raise ValidationError(
            "VALID_3005",
            f"{compiled.event_type} {compiled.event_version} data invalid at {pointer}: {error.message}",
            details={
                "event_type": compiled.event_type,
                "event_version": compiled.event_version,
                "pointer": pointer,
                "schema_pointer": schema_pointer,
                "reason": error.message[:500],
            },
        )

    @classmethod
    def validate_many(cls, compiled: CompiledSchema, items: Sequence[Any]) -> None:
        """:meth:`validate` every item, in one Rust call while they are all valid."""
        if compiled.fast_many is not None and _rust_accepts(compiled.fast_many, items):
            return
        for item in items:
            cls.validate(compiled, item)


def _mapping_is_object(cls: type[Validator]) -> type[Validator]:
    """Publishers take any Mapping as data (and write it as an object), so validate it as one."""
    checker = cls.TYPE_CHECKER.redefine("object", lambda _, value: isinstance(value, Mapping))
    # jsonschema's extend() is unannotated; it returns a validator class like ``cls``.
    extended: type[Validator] = extend(cls, type_checker=checker)  # type: ignore[no-untyped-call]
    return extended


def _rust_accepts(validator: Any, instance: Any) -> bool:
    try:
        return bool(validator.is_valid(instance))
    except ValueError:  # a value jsonschema-rs cannot read: the Python validator decides
        return False


def _rust_validators(uri: str, schema: Mapping[str, Any]) -> tuple[Any, Any]:
    """jsonschema-rs validators for one document and for an array of them (None if not installed)."""
    if jsonschema_rs is None:
        return None, None
    document = dict(schema)
    one = jsonschema_rs.validator_for(document, validate_formats=False)
    # The same dialect for the wrapper, so keywords mean the same inside and outside the $ref.
    dialect = {"$schema": document["$schema"]} if "$schema" in document else {}
    many = jsonschema_rs.validator_for(
        {**dialect, "type": "array", "items": {"$ref": uri}},
        registry=jsonschema_rs.Registry([(uri, document)]),
        validate_formats=False,
    )
    return one, many
