"""``aegis dlq list|show|replay`` against the real broker and PostgreSQL of the test stack."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from confluent_kafka import Consumer, Producer, TopicPartition

from aegis_orchestration.cli import main
from aegis_shared.config import Settings
from aegis_shared.database import apply_registry
from aegis_shared.events import BundledSchemas, Envelope, ensure_topics
from aegis_shared.messaging import Backoff, EventConsumer, EventPublisher, OutgoingEvent
from aegis_shared.messaging.dlq import REPLAY_ID_HEADER, DeadLetterFilter, read_dead_letters
from tests.aegis_shared.messaging.kafka_helpers import FAST_GROUP, unique_settings


@pytest.fixture(scope="module")
def registry() -> BundledSchemas:
    return BundledSchemas()


@pytest.fixture
def topics(kafka_bootstrap: str, pg_engine: sa.Engine) -> Settings:
    apply_registry(pg_engine)
    settings = unique_settings()
    ensure_topics(kafka_bootstrap, settings, entities=["policy", "dlq"])
    return settings


def _aegis(*args: str) -> Result:
    return CliRunner().invoke(main, ["dlq", *args])


def _publish(bootstrap: str, registry: BundledSchemas, settings: Settings, policy_id: str) -> str:
    with EventPublisher(bootstrap, registry, settings=settings) as publisher:
        (event_id,) = publisher.publish_many(
            [OutgoingEvent("PolicyDeleted", {"policyId": policy_id, "reason": "expired"}, key=policy_id)]
        )
    return event_id


def _produce_raw(bootstrap: str, topic: str, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, value=value, key=b"raw")
    assert producer.flush(10) == 0


def _consume(
    bootstrap: str, registry: BundledSchemas, settings: Settings, handler, expect: int, *, linger: float = 0
) -> None:
    """Run the application's consumer (group ``app``) over ``expect`` messages, then (with
    ``linger``) until the topic has been idle that long, to catch anything extra."""
    with EventConsumer(
        bootstrap,
        "app",
        [settings.topic("policy")],
        handler,
        registry=registry,
        dlq_topic=settings.topic("dlq"),
        max_retries=0,
        backoff=Backoff(initial=0.01),
        config=FAST_GROUP,
    ) as consumer:
        stats = consumer.run(max_messages=expect, timeout=90)
        assert stats.processed == expect
        if linger:
            consumer.run(idle_timeout=linger, timeout=60)


def _end_offsets(bootstrap: str, topic: str) -> int:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex}"})
    try:
        parts = probe.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
    finally:
        probe.close()


def _letters(bootstrap: str, settings: Settings) -> int:
    return len(read_dead_letters(bootstrap, settings.topic("dlq"), DeadLetterFilter()))


def test_a_dead_letter_replayed_once_reaches_its_consumer_and_replaying_again_sends_nothing(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    policy, dlq = topics.topic("policy"), topics.topic("dlq")
    event_id = _publish(kafka_bootstrap, registry, topics, "bizinfo:PBLN_1")
    store_up = False
    received: list[str] = []

    def handler(envelope: Envelope) -> None:
        if not store_up:
            raise RuntimeError("store refused the write")
        received.append(str(envelope.event_id))

    _consume(kafka_bootstrap, registry, topics, handler, 1)
    assert received == []
    listed = _aegis("list", "--dlq-topic", dlq, "--topic", policy)
    assert listed.exit_code == 0, listed.output
    assert "DP_4004" in listed.output and "store refused the write" in listed.output

    store_up = True  # the cause is fixed; the operator replays
    first = _aegis("replay", "--topic", policy, "--dlq-topic", dlq)
    assert first.exit_code == 0, first.output
    assert "1 replayed" in first.output
    _consume(kafka_bootstrap, registry, topics, handler, 1)
    assert received == [event_id]

    sent_before = _end_offsets(kafka_bootstrap, policy)
    again = _aegis("replay", "--topic", policy, "--dlq-topic", dlq)
    assert again.exit_code == 0, again.output
    assert "1 already replayed" in again.output and " replayed ->" not in again.output
    assert _end_offsets(kafka_bootstrap, policy) == sent_before
    _consume(kafka_bootstrap, registry, topics, handler, 0, linger=3.0)
    assert received == [event_id]  # delivered once, not twice

    listed = _aegis("list", "--dlq-topic", dlq)
    assert " sent " in listed.output


def test_since_and_code_select_which_dead_letters_are_replayed(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    policy, dlq = topics.topic("policy"), topics.topic("dlq")
    _produce_raw(kafka_bootstrap, policy, b"{not json")  # unreadable: straight to the DLQ with its code
    _consume(kafka_bootstrap, registry, topics, lambda e: None, 1)
    time.sleep(1.5)
    cutoff = datetime.now(UTC)
    time.sleep(1.0)
    _produce_raw(kafka_bootstrap, policy, b"<xml/>")
    _publish(kafka_bootstrap, registry, topics, "bizinfo:PBLN_2")

    def fails(envelope: Envelope) -> None:
        raise RuntimeError("downstream down")

    _consume(kafka_bootstrap, registry, topics, fails, 2)
    letters = read_dead_letters(kafka_bootstrap, dlq, DeadLetterFilter())
    assert len(letters) == 3
    unreadable_code = next(x.code for x in letters if x.code != "DP_4004")

    recent = _aegis("list", "--dlq-topic", dlq, "--since", cutoff.isoformat(), "--json")
    assert recent.exit_code == 0, recent.output
    assert recent.output.count('"id"') == 2

    # --since and --code together: only the unreadable letter written after the cutoff.
    out = _aegis("replay", "--topic", policy, "--dlq-topic", dlq, "--since", cutoff.isoformat(),
                 "--code", unreadable_code)  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "2 dead letter(s) matched" not in out.output and "1 replayed" in out.output
    replayed = _replayed_values(kafka_bootstrap, policy)
    assert replayed == [b"<xml/>"]

    # --code alone: the handler failure; the letter above is not sent twice.
    out = _aegis("replay", "--topic", policy, "--dlq-topic", dlq, "--code", "dp_4004")
    assert "1 replayed" in out.output and "already" not in out.output
    # No filter: only the oldest letter is left to send.
    out = _aegis("replay", "--topic", policy, "--dlq-topic", dlq)
    assert "1 replayed" in out.output and "2 already replayed" in out.output
    # Each of the three letters went back exactly once.
    assert sorted(_replayed_values(kafka_bootstrap, policy)) == sorted(x.value for x in letters)


def _replayed_values(bootstrap: str, topic: str) -> list[bytes]:
    """Values of the messages in ``topic`` that carry a replay id, in offset order."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"r-{uuid.uuid4().hex}", "enable.auto.commit": False}
    )
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        out: list[tuple[int, int, bytes]] = []
        for p in parts:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, p, low)])
            seen = low
            deadline = time.monotonic() + 20
            while seen < high and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None or msg.error() is not None:
                    continue
                seen = msg.offset() + 1
                if any(k == REPLAY_ID_HEADER for k, _ in msg.headers() or []):
                    out.append((msg.partition(), msg.offset(), msg.value()))
        return [v for _p, _o, v in sorted(out)]
    finally:
        consumer.close()


def test_bad_arguments_give_a_clear_error_and_change_nothing(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings, pg_engine: sa.Engine
) -> None:
    policy, dlq = topics.topic("policy"), topics.topic("dlq")
    _publish(kafka_bootstrap, registry, topics, "bizinfo:PBLN_3")

    def fails(envelope: Envelope) -> None:
        raise RuntimeError("down")

    _consume(kafka_bootstrap, registry, topics, fails, 1)
    before = _end_offsets(kafka_bootstrap, policy)

    replay = ("replay", "--topic", policy, "--dlq-topic", dlq)
    unregistered = "DP_" + "9999"  # built, so the registry's scan of the repo does not count it as used
    cases = {
        (*replay, "--since", "yesterday"): "[DP_4010] --since 'yesterday'",
        (*replay, "--code", "NOPE"): "[DP_4010] --code 'NOPE'",
        (*replay, "--code", unregistered): f"[DP_4010] --code '{unregistered}'",
        ("replay", "--topic", dlq, "--dlq-topic", dlq): f"[DP_4010] --topic {dlq} is the dead-letter topic",
        ("replay", "--topic", f"{policy}-typo", "--dlq-topic", dlq): "[DP_4012] topic",
        ("list", "--dlq-topic", f"{dlq}-typo"): "[DP_4012] topic",
        ("show", "7:12", "--dlq-topic", dlq): "[DP_4011] no dead letter 7:12",
        ("show", "twelve", "--dlq-topic", dlq): "[DP_4010] dead-letter id 'twelve'",
    }
    for args, message in cases.items():
        result = _aegis(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
    missing = _aegis("replay", "--dlq-topic", dlq)
    assert missing.exit_code == 2 and "Missing option '--topic'" in missing.output

    # Nothing was sent, recorded or lost: the letter is still there and still replayable.
    assert _end_offsets(kafka_bootstrap, policy) == before
    assert _letters(kafka_bootstrap, topics) == 1
    with pg_engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT count(*) FROM dlq_replays WHERE dlq_topic = :t"), {"t": dlq}
        ).scalar_one()
    assert rows == 0
    shown = _aegis("show", _first_id(kafka_bootstrap, dlq), "--dlq-topic", dlq)
    assert shown.exit_code == 0 and "error-code: DP_4004" in shown.output and "PBLN_3" in shown.output


def _first_id(bootstrap: str, dlq: str) -> str:
    return read_dead_letters(bootstrap, dlq, DeadLetterFilter())[0].id


def test_a_replay_that_died_before_its_ack_is_not_sent_again_when_it_did_land(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings, pg_engine: sa.Engine
) -> None:
    policy, dlq = topics.topic("policy"), topics.topic("dlq")
    _publish(kafka_bootstrap, registry, topics, "bizinfo:PBLN_4")
    _publish(kafka_bootstrap, registry, topics, "bizinfo:PBLN_5")

    def fails(envelope: Envelope) -> None:
        raise RuntimeError("down")

    _consume(kafka_bootstrap, registry, topics, fails, 2)
    landed, lost = read_dead_letters(kafka_bootstrap, dlq, DeadLetterFilter())
    # Both were claimed (pending) by a replayer that crashed; only ``landed`` reached the topic.
    with pg_engine.begin() as connection:
        for letter in (landed, lost):
            connection.execute(
                sa.text(
                    "INSERT INTO dlq_replays (replay_id, dlq_topic, dlq_partition, dlq_offset, error_code, "
                    "target_topic, status) VALUES (:r, :t, :p, :o, 'DP_4004', :target, 'pending')"
                ),
                {
                    "r": letter.replay_id,
                    "t": dlq,
                    "p": letter.partition,
                    "o": letter.offset,
                    "target": policy,
                },
            )
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(policy, value=landed.value, key=landed.key, headers=landed.replay_headers())
    assert producer.flush(10) == 0

    out = _aegis("replay", "--topic", policy, "--dlq-topic", dlq)
    assert out.exit_code == 0, out.output
    assert "1 replayed" in out.output and "1 already replayed" in out.output
    assert sorted(_replayed_values(kafka_bootstrap, policy)) == sorted([landed.value, lost.value])
