"""EventPublisher against the real local broker: delivery, headers, ordering and coded failures."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import UTC, datetime
from types import MappingProxyType

import orjson
import pytest

from aegis_shared.errors import AegisError
from aegis_shared.events import BundledSchemas, Envelope, ensure_topics
from aegis_shared.messaging import DEFAULT_PRODUCER_CONFIG, EventPublisher, OutgoingEvent
from tests.aegis_shared.messaging.kafka_helpers import read_all, unique_settings


def _deleted(i: int) -> dict:
    return {"policyId": f"bizinfo:{i}", "reason": "expired"}


@pytest.fixture(scope="module")
def registry() -> BundledSchemas:
    return BundledSchemas()


def test_producer_config_is_reliable_and_batched() -> None:
    assert DEFAULT_PRODUCER_CONFIG["enable.idempotence"] is True
    assert DEFAULT_PRODUCER_CONFIG["acks"] == "all"
    assert DEFAULT_PRODUCER_CONFIG["compression.type"] in {"lz4", "zstd"}
    assert 5 <= DEFAULT_PRODUCER_CONFIG["linger.ms"] <= 20


def test_publish_many_delivers_every_event_with_headers_and_key_order(
    kafka_bootstrap: str, registry: BundledSchemas
) -> None:
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    events = [
        OutgoingEvent("PolicyDeleted", _deleted(i), key=f"k{i % 3}", correlation_id="req-7")
        for i in range(30)
    ]
    with EventPublisher(kafka_bootstrap, registry, settings=settings, source="test-svc") as publisher:
        event_ids = publisher.publish_many(events)
    assert len(event_ids) == 30

    messages = read_all(kafka_bootstrap, settings.topic("policy"), 30)
    assert len(messages) == 30  # nothing lost, nothing duplicated
    by_id = set(event_ids)
    partitions_by_key: dict[bytes, set[int]] = {}
    order_by_key: dict[bytes, list[str]] = {}
    for msg in messages:
        headers = {k: v.decode() for k, v in msg.headers()}
        body = json.loads(msg.value())
        assert headers == {
            "event-type": "PolicyDeleted",
            "event-version": "1.0",
            "correlation-id": "req-7",
            "event-id": body["eventId"],
        }
        assert body["source"] == "test-svc" and body["eventId"] in by_id
        partitions_by_key.setdefault(msg.key(), set()).add(msg.partition())
        order_by_key.setdefault(msg.key(), []).append(body["data"]["policyId"])
    # One key, one partition, publication order kept.
    assert all(len(p) == 1 for p in partitions_by_key.values())
    for key, ids in order_by_key.items():
        assert ids == [f"bizinfo:{i}" for i in range(30) if f"k{i % 3}".encode() == key]


def test_publish_is_asynchronous_and_flush_confirms(kafka_bootstrap: str, registry: BundledSchemas) -> None:
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["system"], major=2)
    publisher = EventPublisher(kafka_bootstrap, registry, settings=settings)
    envelope = publisher.publish(
        "DataSyncCompleted",
        {
            "syncJobId": "s-1",
            "syncType": "policy_vectorization",
            "sourceSystem": "postgresql",
            "targetSystem": "milvus",
            "recordsProcessed": 1,
            "recordsSucceeded": 1,
            "recordsFailed": 0,
            "processingTimeMs": 3,
        },
        key="milvus",
        causation_id="parent-1",
    )
    assert envelope.correlation_id == str(envelope.event_id)  # a new chain starts at this event
    publisher.close()
    (msg,) = read_all(kafka_bootstrap, settings.topic("system", 2), 1)  # DataSyncCompleted 2.0
    assert json.loads(msg.value())["causationId"] == "parent-1"
    with pytest.raises(AegisError):
        publisher.publish("PolicyDeleted", _deleted(1), key="x")


def test_one_invalid_event_in_a_batch_produces_nothing(
    kafka_bootstrap: str, registry: BundledSchemas
) -> None:
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    events = [OutgoingEvent("PolicyDeleted", _deleted(i), key="k") for i in range(5)]
    events.insert(3, OutgoingEvent("PolicyDeleted", {"policyId": "p", "reason": 42}, key="k"))
    with EventPublisher(kafka_bootstrap, registry, settings=settings) as publisher:
        with pytest.raises(AegisError) as caught:
            publisher.publish_many(events)
        assert caught.value.code == "VALID_3005"
        assert caught.value.details["pointer"] == "/data/reason"
        with pytest.raises(AegisError) as caught:
            publisher.publish("PolicyExploded", {}, key="k")
        assert caught.value.code == "VALID_3007"
    assert read_all(kafka_bootstrap, settings.topic("policy"), 0, timeout=3) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_failed_delivery_raises_ext_5012_listing_the_events(registry: BundledSchemas) -> None:
    # A broker that is not there: librdkafka gives up after message.timeout.ms, for real.
    publisher = EventPublisher(
        f"127.0.0.1:{_closed_port()}",
        registry,
        settings=unique_settings(),
        config={"message.timeout.ms": 1500},
    )
    events = [OutgoingEvent("PolicyDeleted", _deleted(i), key="k") for i in range(3)]
    with pytest.raises(AegisError) as caught:
        publisher.publish_many(events, timeout=10)
    assert caught.value.code == "EXT_5012"
    failures = caught.value.details["failures"]
    assert len(failures) == 3 and all(f["event_type"] == "PolicyDeleted" for f in failures)
    assert len({uuid.UUID(f["event_id"]) for f in failures}) == 3  # each failed event is named
    publisher.close(timeout=1)  # the failures were reported once; nothing is left queued


def test_oversize_event_is_refused_with_a_code(kafka_bootstrap: str, registry: BundledSchemas) -> None:
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    with EventPublisher(
        kafka_bootstrap, registry, settings=settings, config={"message.max.bytes": 2000}
    ) as publisher:
        with pytest.raises(AegisError) as caught:
            publisher.publish("PolicyDeleted", {"policyId": "p", "reason": "x" * 5000}, key="k")
        assert caught.value.code == "EXT_5012"


def test_publish_many_writes_the_same_envelope_as_publish(
    kafka_bootstrap: str, registry: BundledSchemas
) -> None:
    """The batch path writes JSON directly; every form it writes must decode as an Envelope."""
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    events = [
        OutgoingEvent("PolicyDeleted", _deleted(0), key="k"),
        OutgoingEvent("PolicyDeleted", _deleted(1), key="k", correlation_id='req "7" 한글'),
        OutgoingEvent(
            "PolicyDeleted", _deleted(2), key="k", causation_id="parent-1", metadata={"trace": {"span": 3}}
        ),
    ]
    with EventPublisher(kafka_bootstrap, registry, settings=settings, source='svc "a"') as publisher:
        event_ids = publisher.publish_many(events)
        single = publisher.publish("PolicyDeleted", _deleted(3), key="k")
    messages = read_all(kafka_bootstrap, settings.topic("policy"), 4)
    envelopes = [Envelope.from_wire(json.loads(m.value())) for m in messages]
    assert [str(e.event_id) for e in envelopes] == [*event_ids, str(single.event_id)]
    plain, correlated, caused, published = envelopes
    assert plain.correlation_id == event_ids[0] and plain.causation_id is None and plain.metadata == {}
    assert correlated.correlation_id == 'req "7" 한글'
    assert caused.correlation_id == event_ids[2] and caused.causation_id == "parent-1"
    assert caused.metadata == {"trace": {"span": 3}}
    for envelope, message in zip(envelopes, messages, strict=True):
        assert envelope.source == 'svc "a"' and envelope.event_version == "1.0"
        assert envelope.timestamp.utcoffset() is not None
        headers = {k: v.decode() for k, v in message.headers()}
        assert headers["correlation-id"] == envelope.correlation_id
        assert headers["event-id"] == str(envelope.event_id)
    # Apart from identity and time, the batch form is the single form, field for field.
    ignore = {"event_id", "timestamp", "correlation_id", "data"}
    assert plain.model_dump(exclude=ignore) == published.model_dump(exclude=ignore)
    # Ids are time-ordered UUIDv7s, increasing within a batch.
    assert all(uuid.UUID(i).version == 7 for i in event_ids) and event_ids == sorted(event_ids)


def test_unserialisable_metadata_is_refused_and_nothing_is_produced(
    kafka_bootstrap: str, registry: BundledSchemas
) -> None:
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    events = [OutgoingEvent("PolicyDeleted", _deleted(i), key="k") for i in range(3)]
    events.append(OutgoingEvent("PolicyDeleted", _deleted(9), key="k", metadata={"when": {1, 2}}))
    with (
        EventPublisher(kafka_bootstrap, registry, settings=settings) as publisher,
        pytest.raises(AegisError) as caught,
    ):
        publisher.publish_many(events)
    assert caught.value.code == "VALID_3005"
    assert caught.value.details["pointer"] == "/metadata"
    assert read_all(kafka_bootstrap, settings.topic("policy"), 0, timeout=3) == []


def test_bad_correlation_id_in_a_batch_is_refused(kafka_bootstrap: str, registry: BundledSchemas) -> None:
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    events = [OutgoingEvent("PolicyDeleted", _deleted(0), key="k", correlation_id="x" * 300)]
    with (
        EventPublisher(kafka_bootstrap, registry, settings=settings) as publisher,
        pytest.raises(AegisError) as caught,
    ):
        publisher.publish_many(events)
    assert caught.value.code == "VALID_3001" and caught.value.details["field"] == "correlation_id"
    assert read_all(kafka_bootstrap, settings.topic("policy"), 0, timeout=3) == []


def _validated(i: int) -> dict:
    return {
        "policy_id": f"kstartup:{i}",
        "source": "kstartup",
        "source_id": str(i),
        "content_hash": f"{i:064x}",
        "status": "pending_validation",
        "version": 1,
    }


def _published_data(kafka_bootstrap: str, topic: str, event_ids: list[str]) -> list[dict]:
    """Each published event's ``data`` as the broker holds it, in publication order."""
    by_id = {}
    for message in read_all(kafka_bootstrap, topic, len(event_ids)):
        body = json.loads(message.value())
        by_id[body["eventId"]] = body["data"]
    return [by_id[event_id] for event_id in event_ids]


def test_publish_many_writes_every_data_document_as_given(
    kafka_bootstrap: str, registry: BundledSchemas
) -> None:
    """A batch's data is written by one JSON call and cut apart: every form must come out whole."""
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    deep: dict = {}
    for _ in range(252):  # data nested 253 deep: JSON-writable alone, one level too deep to wrap
        deep = {"a": deep}
    events = [
        OutgoingEvent("PolicyDeleted", {**_deleted(0), "note": 'say "," or },{ or ,"x", 한글'}, key="k"),
        OutgoingEvent("PolicyValidated", {**_validated(1), "title": "[공고] 2026 예비창업패키지"}, key="k"),
        OutgoingEvent(
            "PolicyDeleted",
            {**_deleted(2), "tags": ["a", "", ["b", {"c": None}]]},
            key="k",
            correlation_id="req-2",
            metadata={"trace": [1, 2]},
        ),
        OutgoingEvent("PolicyValidated", MappingProxyType(_validated(3)), key="k"),  # any Mapping
    ]
    deep_batch = [*events, OutgoingEvent("PolicyDeleted", {**_deleted(4), "trail": deep}, key="k")]
    with EventPublisher(kafka_bootstrap, registry, settings=settings) as publisher:
        event_ids = publisher.publish_many(events) + publisher.publish_many(deep_batch)
    written = _published_data(kafka_bootstrap, settings.topic("policy"), event_ids)
    assert written == [e.data for e in events + deep_batch]


def test_newlines_in_data_do_not_cut_a_batch_apart(kafka_bootstrap: str, registry: BundledSchemas) -> None:
    """Documents are cut apart at raw newlines: data strings hold escaped ones, and a caller's
    pre-serialised ``orjson.Fragment`` may hold raw ones between its tokens."""
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    events = [
        OutgoingEvent(
            "PolicyDeleted", {**_deleted(0), "note": "line 1\n,\n,line 3", "tags": [",\n,"]}, key="k"
        ),
        OutgoingEvent(
            "PolicyDeleted", {**_deleted(1), "raw": orjson.Fragment(b'[1,\n 2,\n {"a":\n3}]')}, key="k"
        ),
        OutgoingEvent("PolicyDeleted", _deleted(2), key="k"),
    ]
    with EventPublisher(kafka_bootstrap, registry, settings=settings) as publisher:
        event_ids = publisher.publish_many(events)
    written = _published_data(kafka_bootstrap, settings.topic("policy"), event_ids)
    assert written == [events[0].data, {**_deleted(1), "raw": [1, 2, {"a": 3}]}, events[2].data]


def test_one_invalid_event_among_several_types_produces_nothing(
    kafka_bootstrap: str, registry: BundledSchemas
) -> None:
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    events = [OutgoingEvent("PolicyValidated", _validated(i), key="k") for i in range(4)]
    events.insert(2, OutgoingEvent("PolicyDeleted", _deleted(9), key="k"))
    events.append(OutgoingEvent("PolicyValidated", {**_validated(5), "version": 0}, key="k"))
    with EventPublisher(kafka_bootstrap, registry, settings=settings) as publisher:
        with pytest.raises(AegisError) as caught:
            publisher.publish_many(events)
        assert caught.value.code == "VALID_3005"
        assert caught.value.details["pointer"] == "/data/version"
        assert caught.value.details["event_type"] == "PolicyValidated"
    assert read_all(kafka_bootstrap, settings.topic("policy"), 0, timeout=3) == []


def test_data_the_rust_validator_cannot_read_is_refused_with_a_code(
    kafka_bootstrap: str, registry: BundledSchemas
) -> None:
    """A datetime where the schema wants a string is VALID_3005, not jsonschema-rs's ValueError."""
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    bad = {"policyId": "p", "reason": datetime(2026, 1, 1, tzinfo=UTC)}
    events = [OutgoingEvent("PolicyDeleted", d, key="k") for d in (_deleted(0), bad)]
    with EventPublisher(kafka_bootstrap, registry, settings=settings) as publisher:
        for call in (
            lambda: publisher.publish_many(events),
            lambda: publisher.publish("PolicyDeleted", bad, key="k"),
        ):
            with pytest.raises(AegisError) as caught:
                call()
            assert caught.value.code == "VALID_3005" and caught.value.details["pointer"] == "/data/reason"
    assert read_all(kafka_bootstrap, settings.topic("policy"), 0, timeout=3) == []
