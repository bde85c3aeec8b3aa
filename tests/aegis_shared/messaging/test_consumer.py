"""EventConsumer against the real local broker: at-least-once, restart, retries, DLQ, shutdown."""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from aegis_shared.config import Settings
from aegis_shared.events import BundledSchemas, Envelope, ensure_topics
from aegis_shared.messaging import Backoff, EventConsumer, EventPublisher, Handler, OutgoingEvent
from tests.aegis_shared.messaging.kafka_helpers import FAST_GROUP, read_all, unique_settings


@pytest.fixture(scope="module")
def registry() -> BundledSchemas:
    return BundledSchemas()


@pytest.fixture
def topics(kafka_bootstrap: str) -> Settings:
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy", "dlq"])
    return settings


def _publish(bootstrap: str, registry: BundledSchemas, settings: Settings, n: int) -> list[str]:
    """Publish ``n`` events; their ids in order."""
    with EventPublisher(bootstrap, registry, settings=settings) as publisher:
        return publisher.publish_many(
            OutgoingEvent("PolicyDeleted", {"policyId": f"bizinfo:{i}", "reason": "expired"}, key=f"k{i}")
            for i in range(n)
        )


def _consumer(
    bootstrap: str, registry: BundledSchemas, settings: Settings, handler: Handler, group: str, **kw: Any
) -> EventConsumer:
    return EventConsumer(
        bootstrap,
        group,
        [settings.topic("policy")],
        handler,
        registry=registry,
        dlq_topic=settings.topic("dlq"),
        config=FAST_GROUP,
        **kw,
    )


def _committed_total(bootstrap: str, group: str, topic: str, partitions: int = 6) -> int:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **FAST_GROUP})
    try:
        offsets = probe.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        probe.close()
    return sum(max(tp.offset, 0) for tp in offsets)


def test_round_trip(kafka_bootstrap: str, registry: BundledSchemas, topics: Settings) -> None:
    sent = _publish(kafka_bootstrap, registry, topics, 5)
    received: list[Envelope] = []
    with _consumer(kafka_bootstrap, registry, topics, received.append, "g-rt") as consumer:
        stats = consumer.run(max_messages=5, timeout=60)
    assert stats.handled == 5 and stats.dead_lettered == 0
    assert sorted(str(e.event_id) for e in received) == sorted(sent)
    assert received[0].data["reason"] == "expired" and received[0].timestamp.tzinfo is not None
    assert _committed_total(kafka_bootstrap, "g-rt", topics.topic("policy")) == 5


def test_restart_resumes_from_the_committed_offset_without_loss_or_duplicates(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    sent = _publish(kafka_bootstrap, registry, topics, 12)
    first: list[str] = []
    with _consumer(kafka_bootstrap, registry, topics, lambda e: first.append(str(e.event_id)), "g-re") as c:
        c.run(max_messages=5, timeout=60)
    assert len(first) == 5
    second: list[str] = []
    with _consumer(kafka_bootstrap, registry, topics, lambda e: second.append(str(e.event_id)), "g-re") as c:
        c.run(max_messages=7, timeout=60)
        # Nothing more arrives: the first run's messages are not delivered again.
        extra = c.run(idle_timeout=3, timeout=10)
    assert extra.processed == 0
    assert len(first) + len(second) == 12
    assert sorted(first + second) == sorted(sent)


def test_a_handler_that_always_fails_sends_the_message_to_the_dlq_after_n_retries(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    (sent,) = _publish(kafka_bootstrap, registry, topics, 1)
    calls: list[str] = []

    def always_fails(envelope: Envelope) -> None:
        calls.append(str(envelope.event_id))
        raise RuntimeError("downstream store refused the write")

    with _consumer(
        kafka_bootstrap,
        registry,
        topics,
        always_fails,
        "g-dlq",
        max_retries=3,
        backoff=Backoff(initial=0.01, maximum=0.05),
    ) as consumer:
        stats = consumer.run(max_messages=1, timeout=60)
    assert calls == [sent] * 4  # the first try and 3 retries
    assert (stats.dead_lettered, stats.retries, stats.dlq_codes) == (1, 3, {"DP_4004": 1})

    (original,) = read_all(kafka_bootstrap, topics.topic("policy"), 1)
    (dead,) = read_all(kafka_bootstrap, topics.topic("dlq"), 1)
    headers = {k: v.decode() for k, v in dead.headers()}
    assert dead.value() == original.value()  # the original bytes, untouched
    assert dead.key() == original.key()
    assert headers["error-code"] == "DP_4004"
    assert "downstream store refused the write" in headers["error-reason"]
    assert headers["original-topic"] == topics.topic("policy")
    assert headers["original-partition"] == str(original.partition())
    assert headers["original-offset"] == str(original.offset())
    assert headers["retry-count"] == "3"
    assert headers["event-id"] == sent  # the original headers travel along
    # The failed message is committed: it is parked in the DLQ, not lost and not retried forever.
    assert _committed_total(kafka_bootstrap, "g-dlq", topics.topic("policy")) == 1


def test_unreadable_messages_go_straight_to_the_dlq_each_with_its_code(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    good = {
        "eventId": str(uuid.uuid4()),
        "eventType": "PolicyDeleted",
        "eventVersion": "1.0",
        "source": "t",
        "timestamp": "2025-09-17T10:30:00Z",
        "correlationId": "c",
        "data": {"policyId": "p", "reason": "expired"},
    }
    bad = {
        "VALID_3009": b'{"eventId": oops',
        "VALID_3001": json.dumps({k: v for k, v in good.items() if k != "source"}).encode(),
        "VALID_3005": json.dumps({**good, "data": {"policyId": "p"}}).encode(),
        "VALID_3010": json.dumps({**good, "timestamp": "2025-09-17T10:30:00"}).encode(),
        "VALID_3008": json.dumps({**good, "eventVersion": "9.0"}).encode(),
    }
    newer_minor = json.dumps(
        {
            **good,
            "eventId": str(uuid.uuid4()),
            "eventVersion": "1.4",
            "data": {"policyId": "p", "reason": "expired", "newField": 1},
        }
    ).encode()
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    # One key: one partition, so the order below is the order of processing.
    for value in [*bad.values(), newer_minor, json.dumps(good).encode()]:
        producer.produce(topics.topic("policy"), value=value, key=b"same")
    assert producer.flush(10) == 0

    handled: list[Envelope] = []
    calls = 0

    def handler(envelope: Envelope) -> None:
        nonlocal calls
        calls += 1
        handled.append(envelope)

    with _consumer(kafka_bootstrap, registry, topics, handler, "g-bad", max_retries=5) as consumer:
        stats = consumer.run(max_messages=7, timeout=60)
    assert stats.dlq_codes == dict.fromkeys(bad, 1)
    assert [e.event_version for e in handled] == ["1.4", "1.0"] and calls == 2  # bad ones never retried

    dead = read_all(kafka_bootstrap, topics.topic("dlq"), 5)
    by_code = {dict(m.headers())["error-code"].decode(): m for m in dead}
    assert set(by_code) == set(bad)
    for code, value in bad.items():
        message = by_code[code]
        headers = {k: v.decode() for k, v in message.headers()}
        assert message.value() == value and headers["retry-count"] == "0"
        assert headers["error-reason"] and headers["original-topic"] == topics.topic("policy")
    assert _committed_total(kafka_bootstrap, "g-bad", topics.topic("policy")) == 7


def test_sigterm_finishes_the_current_message_commits_and_returns(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    _publish(kafka_bootstrap, registry, topics, 4)
    handled: list[str] = []
    previous = signal.getsignal(signal.SIGTERM)

    def handler(envelope: Envelope) -> None:
        if not handled:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while this message is in flight
        handled.append(str(envelope.event_id))

    with _consumer(
        kafka_bootstrap, registry, topics, handler, "g-term", install_signal_handlers=True
    ) as consumer:
        stats = consumer.run(timeout=60)
    assert stats.handled == 1 and len(handled) == 1
    assert signal.getsignal(signal.SIGTERM) == previous  # the process's own handler is restored
    assert _committed_total(kafka_bootstrap, "g-term", topics.topic("policy")) == 1


def test_stop_event_from_another_thread(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    stop = threading.Event()
    with _consumer(kafka_bootstrap, registry, topics, lambda e: None, "g-stop") as consumer:
        timer = threading.Timer(1.0, stop.set)
        timer.start()
        stats = consumer.run(stop, timeout=30)
        timer.join()
    assert stats.processed == 0 and stop.is_set()
