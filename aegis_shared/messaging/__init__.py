"""Kafka messaging: the validated event publisher and the at-least-once consumer with a DLQ."""

from aegis_shared.messaging.consumer import Backoff, ConsumerStats, EventConsumer, Handler
from aegis_shared.messaging.decoding import decode_message, parse_json, validators_for
from aegis_shared.messaging.lag import consumer_lag
from aegis_shared.messaging.publisher import (
    DEFAULT_PRODUCER_CONFIG,
    DeliveryFailure,
    EventPublisher,
    OutgoingEvent,
)
from aegis_shared.messaging.validation import CompiledSchema, SchemaSource, SchemaValidators

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
