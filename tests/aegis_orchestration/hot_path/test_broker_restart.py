"""``aegis hot-path serve`` while its Kafka broker restarts: nothing lost, nothing twice.

Uses a Kafka of the test's own (restarting the session's broker would disturb other tests).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from aegis_orchestration.hot_path.processor import HotPathProcessor
from aegis_orchestration.hot_path.service import HotPathService
from aegis_shared.config import Settings
from tests.aegis_orchestration.hot_path.helpers import (
    Database,
    announcement,
    ensure_collection_topic,
    policy_rows,
    publish_collected,
    read_events,
)
from tests.aegis_shared.messaging.kafka_helpers import FAST_GROUP
from tests.aegis_shared.messaging.test_real_broker import OwnBroker


def test_serve_across_a_broker_restart_stages_every_record_once(
    hp_settings: Settings, db: Database, tmp_path: Path
) -> None:
    broker = OwnBroker(tmp_path / "kafka")
    try:
        settings = hp_settings.model_copy(update={"kafka_bootstrap": broker.server.bootstrap})
        ensure_collection_topic(settings)
        publish_collected(settings, [announcement(i) for i in range(600)])
        with HotPathProcessor(db.engine, settings) as processor:
            service = HotPathService(processor, group_id="hp-restart", batch_size=50, config=FAST_GROUP)
            outcome: dict[str, object] = {}

            def stop_once_all_read(_records: list[object], _result: object) -> None:
                if len(policy_rows(db.engine)) >= 600:
                    service.stop()

            def serve() -> None:
                # The idle timeout only guards against a hang: a loaded machine can take well over
                # 20 s to restart the broker and rejoin the group, which is not idleness.
                with service:
                    outcome["stats"] = service.run(idle_timeout=150, timeout=240, on_batch=stop_once_all_read)

            worker = threading.Thread(target=serve)
            worker.start()
            deadline = time.monotonic() + 60
            while not policy_rows(db.engine) and time.monotonic() < deadline:
                time.sleep(0.05)
            broker.stop()  # mid-stream: some batches staged and committed, others not yet read
            staged_when_stopped = len(policy_rows(db.engine))
            time.sleep(3)
            broker.start()
            worker.join(timeout=300)
            assert not worker.is_alive()
        assert 0 < staged_when_stopped < 600
        rows = policy_rows(db.engine)
        assert len(rows) == 600
        assert {version for _, version, *_ in rows.values()} == {1}  # none staged twice
        events = read_events(settings, 600, timeout=60)
        assert len({e["data"]["policy_id"] for e in events}) == 600
        assert "stats" in outcome
    finally:
        broker.stop()
