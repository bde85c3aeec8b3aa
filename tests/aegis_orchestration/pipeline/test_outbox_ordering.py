"""Two outbox relays at the same time on the real PostgreSQL and broker: per key, versions reach
Kafka in the order they were written, each exactly once."""

from __future__ import annotations

import json
import threading
from collections import defaultdict

from aegis_orchestration.pipeline.outbox import OutboxMessage, OutboxRelay, pending_count, write_messages
from aegis_shared.config import Settings
from tests.aegis_orchestration.hot_path.helpers import Database
from tests.aegis_shared.messaging.kafka_helpers import read_all

KEYS = ["bizinfo:A", "bizinfo:B", "kstartup:C"]
VERSIONS = 60


def test_two_relays_never_publish_a_later_version_of_a_key_first(hp_settings: Settings, db: Database) -> None:
    topic = hp_settings.topic("policy")  # created by the hp_settings fixture
    # Versions interleaved across keys (A1, B1, C1, A2, ...), so with tiny claims one relay keeps
    # claiming the next version of a key the other relay is still publishing.
    messages = [
        OutboxMessage(
            dedupe_key=f"{key}@{version}",
            kind="event",
            topic=topic,
            key=key.encode(),
            payload=json.dumps({"key": key, "version": version}).encode(),
        )
        for version in range(1, VERSIONS + 1)
        for key in KEYS
    ]
    with db.engine.begin() as conn:
        assert write_messages(conn, messages) == len(messages)

    published: dict[str, int] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def relay(name: str) -> None:
        try:
            with OutboxRelay(db.engine, hp_settings.kafka_bootstrap, claim_size=2, retention=None) as outbox:
                start.wait()
                count = 0
                while pending_count(db.engine):
                    count += outbox.publish_pending()
                published[name] = count
        except BaseException as exc:  # reported below, with the thread's name
            errors.append(exc)

    threads = [threading.Thread(target=relay, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert sum(published.values()) == len(messages)
    assert all(published.values()), published  # both relays really published

    seen: dict[str, list[int]] = defaultdict(list)
    for message in read_all(hp_settings.kafka_bootstrap, topic, len(messages), timeout=60):
        body = json.loads(message.value())
        assert message.key() == body["key"].encode()
        seen[body["key"]].append(body["version"])
    assert {key: versions for key, versions in seen.items()} == {
        key: list(range(1, VERSIONS + 1)) for key in KEYS
    }
