"""Two ``aegis hot-path serve`` processes in one consumer group; one is SIGKILLed mid-stream.

The survivor must take over the dead instance's partitions after the rebalance and re-read what
the dead one had not committed. Staging is idempotent and outbox messages carry deterministic
event ids, so the effect is exactly once: every record staged once (version 1), every event on
the policy topic under one event id.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from aegis_shared.config import Settings
from tests.aegis_orchestration.hot_path.helpers import (
    Database,
    announcement,
    chunks,
    policy_rows,
    publish_collected,
    read_events,
)

TOTAL = 1500
PARTITIONS = set(range(6))  # the collection topic's partition count


class ServeProcess:
    """One real ``aegis hot-path serve`` process whose JSON log lines the test reads."""

    def __init__(self, name: str, settings: Settings, db: Database, log_dir: Path) -> None:
        self.log = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "AEGIS_ENV": settings.env,
            "AEGIS_POSTGRES_URL": db.url,
            "AEGIS_LOG_FORMAT": "json",
            "AEGIS_LOG_LEVEL": "INFO",
        }
        env.pop("DAGSTER_HOME", None)
        command = [
            sys.executable,
            "-c",
            "from aegis_orchestration.cli import main; main()",
            "hot-path",
            "serve",
            "--group-id",
            "hp-failover",
            "--batch-size",
            "50",
            "--session-timeout-ms",
            "6000",
            "--idle-timeout",
            "15",
            "--no-report",
        ]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)

    def lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line still being written
        return out

    def assignments(self) -> list[set[int]]:
        return [
            set(e["partitions"]) for e in self.lines() if e.get("event") == "hot-path partitions assigned"
        ]

    def batches(self) -> int:
        return sum(e.get("event") == "hot-path batch staged" for e in self.lines())

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_killed_instance_s_partitions_move_to_the_other_and_every_record_is_staged_once(
    hp_settings: Settings, db: Database, tmp_path: Path
) -> None:
    items = [announcement(i) for i in range(TOTAL)]
    publish_collected(hp_settings, items[:150])
    first = ServeProcess("first", hp_settings, db, tmp_path)
    second = ServeProcess("second", hp_settings, db, tmp_path)
    feeding = threading.Event()

    def feed() -> None:
        # Steady traffic, so the instance killed is busy with a batch it has not committed.
        for chunk in chunks(items[150:], 30):
            publish_collected(hp_settings, chunk)
            time.sleep(0.05)
        feeding.set()

    feeder = threading.Thread(target=feed)
    try:
        # Both in the group, each with partitions of its own, before the traffic starts.
        wait_for(
            lambda: (
                any(first.assignments())
                and any(second.assignments())
                and first.assignments()[-1]
                and second.assignments()[-1]
                and first.assignments()[-1] | second.assignments()[-1] == PARTITIONS
            ),
            90,
            "both instances to share the partitions",
        )
        feeder.start()
        wait_for(lambda: first.batches() >= 2, 60, "the first instance to stage batches")
        staged_before = len(policy_rows(db.engine))
        owned_by_dead = first.assignments()[-1]
        first.kill()
        assert first.process.returncode == -signal.SIGKILL
        feeder.join(120)
        assert feeding.is_set()
        # The survivor is handed every partition, the dead instance's included.
        wait_for(lambda: second.assignments()[-1] == PARTITIONS, 60, "the survivor to take over")
        assert second.process.wait(120) == 0, second.log.read_text()[-2000:]
    finally:
        first.kill()
        second.kill()
        feeder.join(5) if feeder.is_alive() else None

    assert owned_by_dead and 0 < staged_before < TOTAL
    rows = policy_rows(db.engine)
    assert len(rows) == TOTAL
    assert {version for _, version, *_ in rows.values()} == {1}  # nothing staged twice
    events = read_events(hp_settings, TOTAL, timeout=60)
    by_policy: dict[str, set[str]] = {}
    for event in events:
        by_policy.setdefault(event["data"]["policy_id"], set()).add(event["eventId"])
    assert len(by_policy) == TOTAL
    # A batch re-published after the kill repeats its event id, so consumers drop the repeat.
    assert all(len(ids) == 1 for ids in by_policy.values())
