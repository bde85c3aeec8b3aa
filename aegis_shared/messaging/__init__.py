"""Kafka messaging: the validated event publisher and the at-least-once consumer with a DLQ.

Validating and decoding events (``SchemaValidators``, ``decode_message``) need no Kafka client and
work with the core install; the publisher, consumer and lag helpers need the ``kafka`` extra and are
imported on first use, so a missing extra fails there with SYS_7010 naming it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from aegis_shared._extras import require_extra
from aegis_shared.messaging.decoding import decode_message, parse_json, validators_for
from aegis_shared.messaging.validation import CompiledSchema, SchemaSource, SchemaValidators

if TYPE_CHECKING:
    from aegis_shared.messaging.consumer import Backoff, ConsumerStats, EventConsumer, Handler
    from aegis_shared.messaging.lag import consumer_lag
    from aegis_shared.messaging.publisher import (
        DEFAULT_PRODUCER_CONFIG,
        DeliveryFailure,
        EventPublisher,
        OutgoingEvent,
    )

_KAFKA = {
    "Backoff": "consumer",
    "ConsumerStats": "consumer",
    "EventConsumer": "consumer",
    "Handler": "consumer",
    "consumer_lag": "lag",
    "DEFAULT_PRODUCER_CONFIG": "publisher",
    "DeliveryFailure": "publisher",
    "EventPublisher": "publisher",
    "OutgoingEvent": "publisher",
}


def __getattr__(name: str) -> Any:
    module = _KAFKA.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    require_extra("kafka", f"aegis_shared.messaging.{name}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_PRODUCER_CONFIG",
    "Backoff",
    "CompiledSchema",
    "ConsumerStats",
    "DeliveryFailure",
    "EventConsumer",
    "EventPublisher",
    "Handler",
    "OutgoingEvent",
    "SchemaSource",
    "SchemaValidators",
    "consumer_lag",
    "decode_message",
    "parse_json",
    "validators_for",
]
