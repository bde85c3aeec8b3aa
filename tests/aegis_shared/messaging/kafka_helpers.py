"""Small helpers for tests against the real local broker (no mocks)."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, Message

from aegis_shared.config import Settings

# Short group timeouts: a test consumer that leaves frees its partitions quickly.
FAST_GROUP = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000}


def unique_settings() -> Settings:
    """Settings whose env prefix makes every topic name unique to one test."""
    return Settings(env=f"t{uuid.uuid4().hex[:10]}")


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Message]:
    """Read ``expected`` messages from ``topic`` with a throwaway group (no watermarks used)."""
    import time

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **FAST_GROUP,
        }
    )
    consumer.subscribe([topic])
    out: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            out.append(msg)
        # Linger briefly to catch unexpected extras (duplicates) without relying on watermarks.
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            msg = consumer.poll(0.3)
            if msg is not None and msg.error() is None:
                out.append(msg)
    finally:
        consumer.close()
    return out
