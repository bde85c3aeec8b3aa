"""The event publisher: validated, enveloped, idempotent, batched Kafka production.

Every event is validated against the latest registered schema of its type before anything is
produced, wrapped in the envelope (docs/events.md §1) and produced asynchronously: librdkafka batches
(``linger.ms``) and compresses, and delivery reports are collected by callback. Nothing flushes
per event (an earlier design did, which caps throughput at one broker round trip per event);
:meth:`EventPublisher.flush` and :meth:`EventPublisher.publish_many` wait once and raise EXT_5012
listing every failed delivery, so a lost event is never silent.
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import orjson

from aegis_shared._extras import require_extra

require_extra("kafka", "aegis_shared.messaging.publisher")

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from aegis_shared.config import Settings, get_settings
from aegis_shared.errors import AegisError, ExternalServiceError, ValidationError
from aegis_shared.events.catalogue import get_spec
from aegis_shared.events.envelope import Envelope, parse_event_version
from aegis_shared.events.ids import event_id_lines, new_event_id
from aegis_shared.messaging import metrics
from aegis_shared.messaging.decoding import validators_for
from aegis_shared.messaging.validation import CompiledSchema, SchemaSource, SchemaValidators

# Reliability first: idempotence (no duplicates or reordering on retry) needs acks=all.
# lz4 is cheap on CPU and supported by every broker; linger lets librdkafka fill batches.
DEFAULT_PRODUCER_CONFIG: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": 10,
    "batch.size": 1_000_000,
    "queue.buffering.max.messages": 500_000,
    "message.timeout.ms": 60_000,
}


# Only failures come back as delivery reports: a Python callback per successful event would
# cost more than producing it. The outbox relay, which marks each row on success, keeps them.
_PUBLISHER_CONFIG: dict[str, Any] = {"delivery.report.only.error": True}


_EMPTY: Mapping[str, Any] = {}


def _plain(value: Any) -> Any:
    """orjson's fallback: any other Mapping becomes a dict; anything else cannot be JSON."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_plain)


def _check_ids(correlation_id: str | None, causation_id: str | None) -> None:
    for name, value in (("correlation_id", correlation_id), ("causation_id", causation_id)):
        if value is not None and not (isinstance(value, str) and 0 < len(value) <= 256):
            raise ValidationError(
                "VALID_3001", f"{name} must be a non-empty string (<= 256 chars)", details={"field": name}
            )


def _unserialisable(event_type: str, data: Any, exc: TypeError) -> ValidationError:
    """VALID_3005 naming whether ``data`` or the caller's ``metadata`` could not be written."""
    try:
        _dumps(data)
        pointer = "/metadata"
    except TypeError:
        pointer = "/data"
    return ValidationError(
        "VALID_3005",
        f"{event_type} {pointer} is not JSON-serialisable: {exc}",
        details={"event_type": event_type, "pointer": pointer, "reason": str(exc)[:500]},
    )


_BOUNDARY = orjson.Fragment(b"\n")  # written verbatim between the documents of a batch

# The envelope of an event that starts a causal chain: its correlation id is its own id.
_NEW_CHAIN = b'{"eventId":"%s%s"%s","causationId":null,"metadata":{},"data":%s}'


def _with_context(event: OutgoingEvent, event_id: bytes, prefix: bytes, data: bytes) -> bytes:
    """The envelope of an event that names its correlation, causation or metadata."""
    _check_ids(event.correlation_id, event.causation_id)
    correlation = event.correlation_id or event_id.decode()
    return b'{"eventId":"%s%s%s,"causationId":%s,"metadata":%s,"data":%s}' % (
        event_id,
        prefix,
        _dumps(correlation),
        _dumps(event.causation_id),
        _dumps(event.metadata) if event.metadata else b"{}",
        data,
    )


def _json_each(values: list[Any]) -> list[bytes]:
    """Each value as JSON, written by one orjson call for the whole list (a call per value costs
    about three times as much).

    The values go into one array with a raw newline between them, and the output is cut at each
    comma, newline, comma: compact orjson output has no raw newline of its own (it escapes them
    inside strings), and no valid JSON holds two commas with only whitespace between, so the cuts
    are exactly the boundaries. The values are written one by one instead when the array fails (a
    value JSON cannot carry, or one nested a level too deep to wrap), or when a caller's invalid
    ``orjson.Fragment`` held the mark and the cut found too many pieces.
    """
    if len(values) < 2:
        return [_dumps(value) for value in values]
    items: list[Any] = [_BOUNDARY] * (2 * len(values) - 1)
    items[::2] = values
    try:
        pieces = _dumps(items)[1:-1].split(b",\n,")
    except TypeError:
        pieces = []
    return pieces if len(pieces) == len(values) else [_dumps(value) for value in values]


def _headers(event_type: str, event_version: str, correlation_id: str, event_id: str) -> list[Any]:
    """What consumers and the DLQ route on without parsing the body."""
    return [
        ("event-type", event_type),
        ("event-version", event_version),
        ("correlation-id", correlation_id),
        ("event-id", event_id),
    ]


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One event for :meth:`EventPublisher.publish_many`."""

    event_type: str
    data: Mapping[str, Any]
    key: str | bytes | None
    correlation_id: str | None = None
    causation_id: str | None = None
    metadata: Mapping[str, Any] | None = None
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class _Route:
    schema: CompiledSchema
    prefix: bytes  # the envelope from after eventId up to correlationId's value
    topic: str
    type_header: tuple[str, bytes]
    version_header: tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    event_id: str
    event_type: str
    topic: str
    error: str


@dataclass(slots=True)
class _Pending:
    failures: list[DeliveryFailure] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class EventPublisher:
    """Publishes catalogued events to ``{env}.aegis.{entity}.v{major}`` topics.

    ``key`` decides the partition, so events with one key (a policy id, ``source:source_id``)
    stay in order. Headers carry event-type, event-version, correlation-id and event-id so
    consumers and the DLQ can route without parsing the body.
    """

    def __init__(
        self,
        bootstrap: str,
        registry: SchemaSource | SchemaValidators,
        *,
        settings: Settings | None = None,
        source: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.source = source or self.settings.service_name
        self.validators = validators_for(registry)
        self.producer_config: dict[str, Any] = {
            **DEFAULT_PRODUCER_CONFIG,
            **_PUBLISHER_CONFIG,
            **(config or {}),
            "bootstrap.servers": bootstrap,
        }
        self._producer = Producer({**self.producer_config, "on_delivery": self._on_delivery})
        self._pending = _Pending()
        self._closed = False
        # Per-type lookups cached: they are constant for the publisher's life.
        self._latest: dict[str, CompiledSchema] = {}
        self._topics: dict[tuple[str, str], str] = {}
        self._source_json = orjson.dumps(self.source)
        # Events enqueued since the last flush, per type: counted as published once the flush
        # confirms them (delivery reports only carry failures, see _PUBLISHER_CONFIG).
        self._unconfirmed: collections.Counter[str] = collections.Counter()
        self._published = metrics.LabelCache(metrics.published)
        self._errors = metrics.LabelCache(metrics.errors)

    # -- building ---------------------------------------------------------------------------

    def _schema(self, event_type: str) -> CompiledSchema:
        compiled = self._latest.get(event_type)
        if compiled is None:
            get_spec(event_type)  # VALID_3007 for a type outside the catalogue
            compiled = self._latest[event_type] = self.validators.latest(event_type)
        return compiled

    def build(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Envelope:
        """Validate ``data`` (VALID_3007 unknown type, VALID_3005 with the failing pointer) and
        wrap it in an envelope at the latest registered version. Produces nothing."""
        try:
            compiled = self._schema(event_type)
            self.validators.validate(compiled, data)
        except AegisError as exc:
            self._errors(event_type, exc.code).inc()
            raise
        _check_ids(correlation_id, causation_id)
        event_id = new_event_id()
        # Every field is known valid here (type from the catalogue, version from the registry,
        # ids checked above, timestamp aware UTC), so the envelope is built without re-validation.
        return Envelope.model_construct(
            event_id=event_id,
            event_type=event_type,
            event_version=compiled.event_version,
            source=self.source,
            timestamp=datetime.now(UTC),
            # Without a correlation id a new causal chain starts here: the event is its root.
            correlation_id=correlation_id or str(event_id),
            causation_id=causation_id,
            metadata=dict(metadata) if metadata else {},
            data=dict(data),
        )

    def _topic(self, event_type: str, event_version: str) -> str:
        key = (event_type, event_version)
        topic = self._topics.get(key)
        if topic is None:
            major = parse_event_version(event_version)[0]
            topic = self._topics[key] = self.settings.topic(get_spec(event_type).entity, major)
        return topic

    def topic_for(self, envelope: Envelope) -> str:
        return self._topic(envelope.event_type, envelope.event_version)

    def _route(self, event_type: str, stamp: bytes) -> _Route:
        """Everything constant per event type within one ``publish_many`` call."""
        schema = self._schema(event_type)
        version = schema.event_version
        return _Route(
            schema=schema,
            prefix=b'","eventType":"%s","eventVersion":"%s","source":%s%s'
            % (event_type.encode(), version.encode(), self._source_json, stamp),
            topic=self._topic(event_type, version),
            type_header=("event-type", event_type.encode()),
            version_header=("event-version", version.encode()),
        )

    # -- producing --------------------------------------------------------------------------

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        """One shared delivery callback (only failures are reported, see ``_PUBLISHER_CONFIG``);
        the event's identity is read back from the message value."""
        if err is None:
            return
        try:
            body = json.loads(msg.value() or b"{}")
        except ValueError:
            body = {}
        failure = DeliveryFailure(
            str(body.get("eventId", "?")), str(body.get("eventType", "?")), msg.topic() or "?", str(err)
        )
        with self._pending.lock:
            self._pending.failures.append(failure)

    def _enqueue(self, topic: str, value: bytes, key: str | bytes | None, headers: list[Any]) -> None:
        produce = self._producer.produce
        while True:
            try:
                produce(topic, value, key, headers=headers)
                break
            except BufferError:
                # Local queue full: serve delivery reports until librdkafka has room.
                self._producer.poll(0.05)
            except KafkaException as exc:
                raise ExternalServiceError(
                    "EXT_5012",
                    f"could not enqueue an event to {topic}: {exc}",
                    details={"topic": topic, "event_id": dict(headers).get("event-id")},
                ) from exc
        self._producer.poll(0)

    def _check_open(self) -> None:
        if self._closed:
            raise ExternalServiceError("EXT_5005", "publisher is closed")

    def publish(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        key: str | bytes | None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        topic: str | None = None,
    ) -> Envelope:
        """Validate, envelope and enqueue one event; returns at once (delivery is asynchronous).

        Failed deliveries surface as EXT_5012 from the next :meth:`flush` or :meth:`close`.
        """
        self._check_open()
        envelope = self.build(
            event_type, data, correlation_id=correlation_id, causation_id=causation_id, metadata=metadata
        )
        headers = _headers(
            envelope.event_type, envelope.event_version, envelope.correlation_id, str(envelope.event_id)
        )
        self._enqueue(topic or self.topic_for(envelope), envelope.to_bytes(), key, headers)
        self._unconfirmed[envelope.event_type] += 1
        return envelope

    def publish_many(self, events: Iterable[OutgoingEvent], *, timeout: float = 60.0) -> list[str]:
        """Validate and serialise every event first (one bad event produces nothing), produce all,
        flush once. Returns the event ids in input order.

        The events of one call share its timestamp and a block of time-ordered ids. Raises
        EXT_5012 listing each failed delivery. The wire form is the same as :meth:`publish`'s,
        written directly as JSON: building an :class:`Envelope` per event would cost more than
        producing it.
        """
        self._check_open()
        batch = events if isinstance(events, list) else list(events)
        lines = event_id_lines(len(batch))
        ids, id_bytes = (lines.split("\n"), lines.encode().split(b"\n")) if batch else ([], [])
        stamp = b',"timestamp":%s,"correlationId":' % orjson.dumps(datetime.now(UTC), option=orjson.OPT_UTC_Z)
        routes = {
            event_type: self._route(event_type, stamp)
            for event_type in dict.fromkeys(event.event_type for event in batch)
        }
        documents = [event.data for event in batch]
        for event_type, route in routes.items():  # one validator call per event type
            try:
                self.validators.validate_many(
                    route.schema,
                    documents
                    if len(routes) == 1
                    else [
                        data
                        for event, data in zip(batch, documents, strict=True)
                        if event.event_type == event_type
                    ],
                )
            except AegisError as exc:
                self._errors(event_type, exc.code).inc()
                raise
        values = self._serialise(batch, id_bytes, documents, routes)

        produce, poll = self._producer.produce, self._producer.poll
        for event, event_id, value in zip(batch, id_bytes, values, strict=True):
            route = routes[event.event_type]
            correlation = event_id if event.correlation_id is None else event.correlation_id.encode()
            headers = [
                route.type_header,
                route.version_header,
                ("correlation-id", correlation),
                ("event-id", event_id),
            ]
            topic, key = event.topic or route.topic, event.key
            try:
                produce(topic, value, key, headers=headers)
            except (BufferError, KafkaException):  # queue full or a refusal: the careful path
                self._enqueue(topic, value, key, headers)
            poll(0)
        self._unconfirmed.update(event.event_type for event in batch)
        self.flush(timeout)
        return ids

    @staticmethod
    def _serialise(
        batch: list[OutgoingEvent], id_bytes: list[bytes], documents: list[Any], routes: dict[str, _Route]
    ) -> list[bytes]:
        """Every event's envelope as JSON bytes; VALID_3001/VALID_3005 before anything is produced.

        The common event (a new causal chain, no metadata) is one format of constants; a
        comprehension, because a loop of appends costs more than the format itself here.
        """
        try:
            return [
                _NEW_CHAIN % (event_id, routes[event.event_type].prefix, event_id, data)
                if event.correlation_id is None and event.causation_id is None and not event.metadata
                else _with_context(event, event_id, routes[event.event_type].prefix, data)
                for event, event_id, data in zip(batch, id_bytes, _json_each(documents), strict=True)
            ]
        except TypeError as exc:  # orjson.JSONEncodeError: a value JSON cannot carry
            culprit = exc
        for event in batch:  # which event, and whether its data or its metadata
            try:
                _dumps(event.data)
                _dumps(event.metadata)
            except TypeError as exc:
                raise _unserialisable(event.event_type, event.data, exc) from None
        raise culprit

    def flush(self, timeout: float = 60.0) -> None:
        """Wait for every queued event's delivery report; raise EXT_5012 if any failed or timed out."""
        remaining = self._producer.flush(timeout)
        with self._pending.lock:
            failures, self._pending.failures = self._pending.failures, []
        self._count(failures, remaining)
        if failures or remaining:
            raise ExternalServiceError(
                "EXT_5012",
                f"{len(failures)} event(s) failed delivery, {remaining} still undelivered after {timeout}s",
                details={
                    "undelivered": remaining,
                    "failures": [
                        {
                            "event_id": f.event_id,
                            "event_type": f.event_type,
                            "topic": f.topic,
                            "error": f.error,
                        }
                        for f in failures
                    ],
                },
            )

    def _count(self, failures: list[DeliveryFailure], remaining: int) -> None:
        """The event metrics (docs/events.md §6) of what the flush settled: acknowledged, failed."""
        unconfirmed, self._unconfirmed = self._unconfirmed, collections.Counter()
        for failure in failures:
            unconfirmed[failure.event_type] -= 1
            self._errors(failure.event_type, "delivery").inc()
        if remaining:
            # Which ones are still undelivered is unknown: none counts as published yet.
            self._errors(metrics.UNKNOWN_TYPE, "delivery_timeout").inc(remaining)
            return
        for event_type, count in unconfirmed.items():
            if count > 0:
                self._published(event_type, self.source).inc(count)

    def close(self, timeout: float = 60.0) -> None:
        """Flush (raising on failed deliveries) and refuse further events."""
        if self._closed:
            return
        try:
            self.flush(timeout)
        finally:
            self._closed = True

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            # Do not mask the original error with a delivery error; still try to deliver.
            with contextlib.suppress(ExternalServiceError):
                self.close()
