"""Turning message bytes into a validated :class:`Envelope`, or a coded error.

Shared by the group consumer and by the hot path that reads exact offset ranges with
assign/seek, so both refuse exactly the same messages with exactly the same codes:

* VALID_3009: not UTF-8 JSON (or empty);
* VALID_3001 / VALID_3003: not a valid envelope;
* VALID_3010: naive timestamp;
* VALID_3007: unknown event type; VALID_3008: unsupported major version;
* VALID_3005: ``data`` does not match the registered schema.
"""

from __future__ import annotations

import json
import re
import weakref
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from aegis_shared.errors import ValidationError
from aegis_shared.events.envelope import EVENT_TYPE_PATTERN, EVENT_VERSION_PATTERN, Envelope
from aegis_shared.messaging.validation import SchemaSource, SchemaValidators

_validators: weakref.WeakKeyDictionary[Any, SchemaValidators] = weakref.WeakKeyDictionary()


def validators_for(registry: SchemaSource | SchemaValidators) -> SchemaValidators:
    """The cached :class:`SchemaValidators` of ``registry`` (one per registry object)."""
    if isinstance(registry, SchemaValidators):
        return registry
    try:
        found = _validators.get(registry)
    except TypeError:  # not weak-referenceable: no cache, still correct
        return SchemaValidators(registry)
    if found is None:
        found = SchemaValidators(registry)
        _validators[registry] = found
    return found


def parse_json(value: bytes | str | None) -> Any:
    """Decode UTF-8 JSON, raising VALID_3009 for anything undecodable."""
    if not value:
        raise ValidationError("VALID_3009", "message has no value", details={"length": 0})
    try:
        return json.loads(value)
    except UnicodeDecodeError as exc:
        raise ValidationError(
            "VALID_3009",
            f"message is not UTF-8: {exc.reason} at byte {exc.start}",
            details={"length": len(value)},
        ) from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            "VALID_3009",
            f"message is not JSON: {exc.msg} at {exc.pos}",
            details={"length": len(value), "position": exc.pos},
        ) from None


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$")
_TYPE = re.compile(EVENT_TYPE_PATTERN)
_VERSION = re.compile(EVENT_VERSION_PATTERN)
_WIRE_KEYS = frozenset(
    (
        "eventId",
        "eventType",
        "eventVersion",
        "source",
        "timestamp",
        "correlationId",
        "causationId",
        "metadata",
        "data",
    )
)


def _canonical_envelope(value: bytes | str) -> Envelope | None:
    """The envelope of a message in exactly the form our publishers write, or None.

    Pydantic validation of the envelope costs several times the rest of decoding. A message whose
    every field has the canonical form (all nine keys, a hyphenated UUID, an RFC 3339 timestamp
    with an offset, strings within their limits) is one pydantic would accept as is, so it is
    built directly; anything else, valid or not, takes the pydantic path, which decides exactly as
    before and gives the same codes.
    """
    try:
        wire = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if type(wire) is not dict or wire.keys() != _WIRE_KEYS:
        return None
    event_id, event_type, event_version = wire["eventId"], wire["eventType"], wire["eventVersion"]
    source, stamp, correlation = wire["source"], wire["timestamp"], wire["correlationId"]
    causation, metadata, data = wire["causationId"], wire["metadata"], wire["data"]
    if not (
        type(event_id) is str
        and _UUID.match(event_id)
        and type(event_type) is str
        and len(event_type) <= 128
        and _TYPE.match(event_type)
        and type(event_version) is str
        and _VERSION.match(event_version)
        and type(source) is str
        and 0 < len(source) <= 256
        and type(stamp) is str
        and _TIMESTAMP.match(stamp)
        and type(correlation) is str
        and 0 < len(correlation) <= 256
        and (causation is None or (type(causation) is str and len(causation) <= 256))
        and type(metadata) is dict
        and type(data) is dict
    ):
        return None
    # What model_construct stores, without its per-field alias look-ups (which cost more than
    # everything else here); every field is set, as pydantic would have set it.
    envelope = _new(Envelope)
    _set(
        envelope,
        "__dict__",
        {
            "event_id": UUID(event_id),
            "event_type": event_type,
            "event_version": event_version,
            "source": source,
            "timestamp": datetime.fromisoformat(stamp).astimezone(UTC),
            "correlation_id": correlation,
            "causation_id": causation,
            "metadata": metadata,
            "data": data,
        },
    )
    _set(envelope, "__pydantic_fields_set__", set(_FIELD_NAMES))
    _set(envelope, "__pydantic_extra__", None)
    _set(envelope, "__pydantic_private__", None)
    return envelope


_new = Envelope.__new__
_set = object.__setattr__
_FIELD_NAMES = tuple(Envelope.model_fields)
# The direct construction above is model_construct's own, valid while the model has no
# post-init hook, private attributes or extra fields.
if (
    Envelope.__pydantic_post_init__
    or Envelope.__private_attributes__
    or set(_FIELD_NAMES)
    != {
        "event_id",
        "event_type",
        "event_version",
        "source",
        "timestamp",
        "correlation_id",
        "causation_id",
        "metadata",
        "data",
    }
):
    raise RuntimeError("Envelope changed shape: update the direct construction in messaging.decoding")


def decode_message(msg_value: bytes | str | None, registry: SchemaSource | SchemaValidators) -> Envelope:
    """Parse, check the envelope and validate ``data`` against its registered schema."""
    envelope = _canonical_envelope(msg_value) if msg_value else None
    if envelope is None:
        envelope = Envelope.from_wire(parse_json(msg_value))
    validators = validators_for(registry)
    compiled = validators.for_version(envelope.event_type, envelope.event_version)
    validators.validate(compiled, envelope.data)
    return envelope
