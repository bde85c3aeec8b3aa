"""The outbox relay killed mid-batch, after producing a claim and before marking it published.

The dead relay's Kafka transaction is aborted by the broker, so read-committed consumers never
see that claim; its rows stay unpublished in PostgreSQL, and the next relay publishes them once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from confluent_kafka import Consumer

from aegis_orchestration.pipeline.outbox import OutboxMessage, OutboxRelay, pending_count, write_messages
from aegis_shared.config import Settings
from tests.aegis_orchestration.hot_path.helpers import Database
from tests.aegis_shared.messaging.kafka_helpers import FAST_GROUP

CLAIM = 100
ROWS = 3 * CLAIM
DRIVER = Path(__file__).with_name("relay_kill_driver.py")


def _messages(settings: Settings) -> list[OutboxMessage]:
    out = []
    for i in range(ROWS):
        event_id = uuid.uuid4()
        out.append(
            OutboxMessage(
                dedupe_key=f"relay-crash:{i}",
                kind="event",
                topic=settings.topic("policy"),
                key=f"p{i}".encode(),
                payload=json.dumps({"eventId": str(event_id), "n": i}).encode(),
                headers=(("event-id", str(event_id).encode()),),
                event_id=event_id,
            )
        )
    return out


def _read(settings: Settings, isolation: str, expected: int) -> list[int]:
    """Every message on the policy topic, read to its end with ``isolation``."""
    import time

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            **FAST_GROUP,
        }
    )
    consumer.subscribe([settings.topic("policy")])
    seen: list[int] = []
    deadline = time.monotonic() + 60
    quiet_until = None
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.3)
            if msg is not None and msg.error() is None:
                seen.append(json.loads(msg.value())["n"])
                quiet_until = None
            elif len(seen) >= expected:
                # Linger to catch extras (a duplicate would arrive after the expected count).
                quiet_until = quiet_until or time.monotonic() + 2
                if time.monotonic() > quiet_until:
                    break
    finally:
        consumer.close()
    return seen


def test_a_relay_killed_before_marking_a_claim_published_publishes_nothing_twice(
    hp_settings: Settings, db: Database
) -> None:
    with db.engine.begin() as conn:
        assert write_messages(conn, _messages(hp_settings)) == ROWS
    env = {**os.environ, "AEGIS_ENV": hp_settings.env, "AEGIS_POSTGRES_URL": db.url}
    # Claim 1 is committed on both sides; claim 2 is produced to Kafka, then the relay dies.
    driver = subprocess.Popen(
        [sys.executable, str(DRIVER), str(CLAIM), "2", "5000"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert driver.stdout is not None
        assert driver.stdout.readline().strip() == "committed claim 1"
        assert driver.stdout.readline().strip() == "produced claim 2"
        assert pending_count(db.engine) == ROWS - CLAIM  # claim 2 is not marked published
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait(30)
    assert driver.returncode == -signal.SIGKILL

    with OutboxRelay(db.engine, hp_settings.kafka_bootstrap, retention=None) as relay:
        assert relay.publish_pending() == ROWS - CLAIM
    assert pending_count(db.engine) == 0

    committed = _read(hp_settings, "read_committed", ROWS)
    assert sorted(committed) == list(range(ROWS))  # every row once
    # The dead relay's claim did reach the log, aborted: only a read-uncommitted reader sees it.
    uncommitted = _read(hp_settings, "read_uncommitted", ROWS + CLAIM)
    assert sorted(uncommitted) == sorted([*range(ROWS), *range(CLAIM, 2 * CLAIM)])
