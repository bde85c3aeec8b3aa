"""Events: the envelope, the catalogue of event types, topics, and the schema registry.

The registry and compatibility checker (``registry``, ``compatibility``) are re-exported lazily so
importing the envelope never pulls in the registry's storage dependencies.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from aegis_shared.events.catalogue import (
    CATALOGUE,
    SCHEMAS_DIR,
    BundledSchemas,
    EventSpec,
    event_types,
    get_spec,
    schema_event_version,
)
from aegis_shared.events.envelope import Envelope, parse_event_version
from aegis_shared.events.topics import TOPICS, TopicSpec, ensure_topics, topic_name

if TYPE_CHECKING:
    from aegis_shared.events.compatibility import CompatibilityResult, check_compatibility
    from aegis_shared.events.registry import SchemaRegistry

_LAZY = {
    "check_compatibility": "aegis_shared.events.compatibility",
    "CompatibilityResult": "aegis_shared.events.compatibility",
    "SchemaRegistry": "aegis_shared.events.registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aegis_shared.events' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CATALOGUE",
    "SCHEMAS_DIR",
    "TOPICS",
    "BundledSchemas",
    "CompatibilityResult",
    "Envelope",
    "EventSpec",
    "SchemaRegistry",
    "TopicSpec",
    "check_compatibility",
    "ensure_topics",
    "event_types",
    "get_spec",
    "parse_event_version",
    "schema_event_version",
    "topic_name",
]
