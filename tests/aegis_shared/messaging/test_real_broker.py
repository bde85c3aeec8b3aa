"""What only a real Kafka broker shows: data kept across a restart, and true watermarks.

Tansu, the earlier local broker, kept nothing on disk and reported wrong high watermarks for
batched produce; these tests run on Apache Kafka (KRaft) and would fail there.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from aegis_orchestration.devstack.jvm_servers import KafkaServer
from aegis_orchestration.devstack.process import free_port
from aegis_shared.config import Settings
from aegis_shared.events import BundledSchemas, ensure_topics
from aegis_shared.messaging import EventPublisher, OutgoingEvent, consumer_lag
from tests.aegis_shared.messaging.kafka_helpers import FAST_GROUP, read_all, unique_settings


def _deleted(batch: str, i: int) -> OutgoingEvent:
    return OutgoingEvent("PolicyDeleted", {"policyId": f"{batch}:{i}", "reason": "expired"}, key=f"k{i % 4}")


class OwnBroker:
    """A Kafka of this test's own, so restarting it leaves the session's broker alone."""

    def __init__(self, root: Path) -> None:
        self.server = KafkaServer(root, free_port(), free_port())
        self.server.prepare()
        self.pid: int | None = self.server.launch()
        self.server.wait_ready(self.pid)

    def stop(self) -> None:
        self.server.stop(self.pid)
        self.pid = None

    def start(self) -> None:
        self.pid = self.server.launch()
        self.server.wait_ready(self.pid)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    broker = OwnBroker(tmp_path)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.stack  # starts a Kafka broker of its own
def test_publishing_across_a_broker_restart_loses_and_duplicates_nothing(own_broker: OwnBroker) -> None:
    bootstrap = own_broker.server.bootstrap
    settings = Settings(env=f"t{uuid.uuid4().hex[:10]}", kafka_bootstrap=bootstrap)
    ensure_topics(bootstrap, settings, entities=["policy"])
    published: list[str] = []
    with EventPublisher(bootstrap, BundledSchemas(), settings=settings) as publisher:
        published += publisher.publish_many([_deleted("before", i) for i in range(200)])
        own_broker.stop()  # controlled shutdown: the first 200 are on disk

        during: list[str] = []
        worker = threading.Thread(
            target=lambda: during.extend(publisher.publish_many([_deleted("during", i) for i in range(200)]))
        )
        worker.start()  # the producer buffers and retries while the broker is down
        time.sleep(2)
        assert worker.is_alive(), "publish_many returned while no broker was up"
        own_broker.start()
        worker.join(timeout=90)
        assert not worker.is_alive()
        published += during

    messages = read_all(bootstrap, settings.topic("policy"), 400, timeout=60)
    ids = [json.loads(m.value())["eventId"] for m in messages]
    assert len(ids) == 400 and set(ids) == set(published)  # all kept, none twice (idempotent producer)


def test_consumer_lag_comes_from_the_brokers_watermarks(kafka_bootstrap: str) -> None:
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy"])
    topic = settings.topic("policy")
    with EventPublisher(kafka_bootstrap, BundledSchemas(), settings=settings) as publisher:
        publisher.publish_many([_deleted("lag", i) for i in range(90)])  # batched: several records per batch
    group = f"lag-{uuid.uuid4().hex[:8]}"
    lag = consumer_lag(kafka_bootstrap, group, [topic])
    assert sum(lag.values()) == 90  # nothing committed yet: everything is lag

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            **FAST_GROUP,
        }
    )
    consumer.subscribe([topic])
    read: list[TopicPartition] = []
    deadline = time.monotonic() + 30
    while len(read) < 30 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            read.append(TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1))
    last: dict[int, TopicPartition] = {}
    for tp in read:
        last[tp.partition] = tp
    consumer.commit(offsets=list(last.values()), asynchronous=False)
    consumer.close()

    assert sum(consumer_lag(kafka_bootstrap, group, [topic]).values()) == 90 - len(read)
