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
import weakref
from typing import Any

from aegis_shared.errors import ValidationError
from aegis_shared.events.envelope import Envelope
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
        raise ValidationError("VALID_3009", f"message is not UTF-8: {exc.reason} at byte {exc.start}",
                              details={"length": len(value)}) from None
    except json.JSONDecodeError as exc:
        raise ValidationError("VALID_3009", f"message is not JSON: {exc.msg} at {exc.pos}",
                              details={"length": len(value), "position": exc.pos}) from None


def decode_message(msg_value: bytes | str | None, registry: SchemaSource | SchemaValidators) -> Envelope:
    """Parse, check the envelope and validate ``data`` against its registered schema."""
    envelope = Envelope.from_wire(parse_json(msg_value))
    validators = validators_for(registry)
    compiled = validators.for_version(envelope.event_type, envelope.event_version)
    validators.validate(compiled, envelope.data)
    return envelope
