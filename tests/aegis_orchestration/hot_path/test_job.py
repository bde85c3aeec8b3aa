"""``hot_path_job`` on the real broker and PostgreSQL: 1,000 messages, a killed run, re-execution."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import dagster as dg

from aegis_orchestration.hot_path.offsets import OffsetRange, read_range
from aegis_orchestration.sensors.collection import build_collection_sensor
from aegis_shared.config import Settings
from tests.aegis_orchestration.hot_path.helpers import (
    Database,
    announcement,
    bad_messages,
    headers_of,
    outbox_rows,
    policy_rows,
    produce_raw,
    publish_collected,
    range_config,
    read_dlq,
    read_events,
    resources,
    run_job,
    unique_env,
    with_env,
)

DRIVER = Path(__file__).with_name("kill_driver.py")


def _sensor_requests(settings: Settings, db: Database) -> list[dg.RunRequest]:
    """Tick the real sensor until it finds nothing new; every request it made, in order."""
    sensor = build_collection_sensor(poll_seconds=8.0, idle_seconds=1.0)
    cursor, requests = None, []
    with dg.instance_for_test() as instance:
        for _ in range(10):
            context = dg.build_sensor_context(
                cursor=cursor, instance=instance, resources=resources(settings, db)
            )
            result = sensor(context)
            if not result.run_requests:
                return requests
            requests.extend(result.run_requests)
            cursor = result.cursor
    raise AssertionError("the sensor kept finding records")


def test_thousand_messages_become_the_right_rows_and_dlq_entries(hp_settings: Settings, db: Database) -> None:
    originals = [announcement(i) for i in range(959)]
    duplicates = originals[:25]  # re-collected unchanged: same content hash
    changed = [announcement(i, title=f"[변경] 창업지원 공고 {i}") for i in range(100, 110)]
    bad = bad_messages(hp_settings)
    publish_collected(hp_settings, originals)
    produce_raw(hp_settings, [(value, key) for value, key, _ in bad])
    publish_collected(hp_settings, duplicates + changed)
    assert len(originals) + len(duplicates) + len(changed) + len(bad) == 1000

    requests = _sensor_requests(hp_settings, db)
    ranges = [r.run_config["ops"]["staged_policies"]["config"] for r in requests]
    assert sum(c["end_offset"] - c["start_offset"] for c in ranges) == 1000  # gap-free log
    with dg.instance_for_test() as instance:
        for request in requests:
            assert run_job(hp_settings, db, request.run_config, instance=instance).success

    # Every valid policy is a row with its latest content, staged for the cold path.
    rows = policy_rows(db.engine)
    expected = {a.policy_id: a.content_hash for a in originals} | {
        a.policy_id: a.content_hash for a in changed
    }
    assert {pid: row[0] for pid, row in rows.items()} == expected
    assert {row[2] for row in rows.values()} == {"pending_validation"}
    # Every bad record is in the DLQ once, with its code and original bytes.
    dlq = read_dlq(hp_settings, len(bad))
    assert sorted((m.value(), headers_of(m)["error-code"]) for m in dlq) == sorted((v, c) for v, _, c in bad)
    assert all(headers_of(m)["original-topic"] == hp_settings.topic("collection") for m in dlq)
    # One PolicyValidated per row written, and nothing unpublished.
    written = [r for r in outbox_rows(db.engine) if r[1] == "event"]
    events = read_events(hp_settings, len(written))
    assert len(events) == len(written) == 959 + sum(1 for c in changed if rows[c.policy_id][1] == 2)
    assert len({e["eventId"] for e in events}) == len(events)
    latest = {e["data"]["policy_id"]: e["data"] for e in sorted(events, key=lambda e: e["data"]["version"])}
    assert {pid: d["content_hash"] for pid, d in latest.items()} == expected
    assert all(published for *_, published in outbox_rows(db.engine))


def test_retrying_a_range_writes_nothing_twice(hp_settings: Settings, db: Database) -> None:
    publish_collected(hp_settings, [announcement(i) for i in range(40)], partition=0)
    produce_raw(hp_settings, [(b"{oops", "bizinfo:bad")], partition=0)
    config = range_config(hp_settings.topic("collection"), 0, 0, 41)
    with dg.instance_for_test() as instance:
        first = run_job(hp_settings, db, config, instance=instance)
        rows, outbox = policy_rows(db.engine), outbox_rows(db.engine)
        second = run_job(hp_settings, db, config, instance=instance)
        assert first.success and second.success
        assert policy_rows(db.engine) == rows and outbox_rows(db.engine) == outbox
        meta = [
            m.asset_materialization.metadata
            for m in (instance.fetch_materializations(dg.AssetKey("staged_policies"), limit=10).records)
        ]
    values = sorted(({k: v.value for k, v in m.items()} for m in meta), key=lambda m: -m["inserted"])
    assert (
        values[0]["inserted"] == 40
        and values[0]["dead_lettered"] == 1
        and values[0]["events_published"] == 41
    )
    assert values[1]["inserted"] == 0 and values[1]["unchanged"] == 40 and values[1]["events_published"] == 0
    assert values[1]["outbox_written"] == 0  # the DLQ entry is not written again either
    assert len(read_events(hp_settings, 40)) == 40 and len(read_dlq(hp_settings, 1)) == 1


def _kill_mid_range(settings: Settings, db: Database, offsets: OffsetRange, after_chunks: int) -> None:
    """Run the hot path in a real process and SIGKILL it after ``after_chunks`` committed chunks."""
    env = {
        **os.environ,
        "AEGIS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "AEGIS_ENV": settings.env,
        "AEGIS_POSTGRES_URL": db.url,
    }
    args = [
        sys.executable,
        str(DRIVER),
        offsets.topic,
        str(offsets.partition),
        str(offsets.start),
        str(offsets.end),
        str(after_chunks),
    ]
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True) as proc:
        watchdog = threading.Timer(120, proc.kill)  # a stuck driver fails the test instead of hanging it
        watchdog.start()
        try:
            for _ in range(after_chunks):
                line = proc.stdout.readline()  # type: ignore[union-attr]
                assert line.startswith("committed"), line
        finally:
            watchdog.cancel()
            os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL


def test_a_run_killed_mid_range_then_re_executed_equals_a_clean_run(
    settings: Settings, hp_settings: Settings, db: Database, pg_engine, pg_url: str
) -> None:
    from tests.aegis_orchestration.hot_path.helpers import create_database, drop_database

    # 2,500 records in one partition: three chunks of the job's batch size (1,000). Changed
    # versions and duplicates straddle the chunk boundaries; bad records sit in every chunk.
    items = [announcement(i) for i in range(2300)]
    items += [announcement(i, title=f"[변경] {i}") for i in range(990, 1010)]
    items += items[1990:2010] + items[:150]
    publish_collected(hp_settings, items[:1200], partition=0)
    produce_raw(hp_settings, [(value, key) for value, key, _ in bad_messages(hp_settings)], partition=0)
    publish_collected(hp_settings, items[1200:], partition=0)
    total = len(items) + 6
    topic = hp_settings.topic("collection")
    assert len(read_range(hp_settings.kafka_bootstrap, OffsetRange(topic, 0, 0, total))) == total
    config = range_config(topic, 0, 0, total)

    clean_settings = with_env(settings, unique_env())
    clean_db = create_database(pg_engine, pg_url)
    try:
        with dg.instance_for_test() as instance:
            assert run_job(clean_settings, clean_db, config, instance=instance).success

        killed_settings = with_env(settings, unique_env())
        _kill_mid_range(killed_settings, db, OffsetRange(topic, 0, 0, total), after_chunks=2)
        staged = outbox_rows(db.engine)
        assert staged and not any(published for *_, published in staged)  # died before publishing
        with dg.instance_for_test() as instance:
            assert run_job(killed_settings, db, config, instance=instance).success

        assert policy_rows(db.engine) == policy_rows(clean_db.engine)

        # Same messages under the same deterministic keys (topics differ only by the env prefix).
        def without_topic(rows: list[tuple]) -> list[tuple]:
            return [row[:2] + row[3:] for row in rows]

        assert without_topic(outbox_rows(db.engine)) == without_topic(outbox_rows(clean_db.engine))
        events = {}
        for name, s in (("clean", clean_settings), ("killed", killed_settings)):
            read = read_events(s, len([r for r in outbox_rows(db.engine) if r[1] == "event"]))
            events[name] = Counter(
                (e["data"]["policy_id"], e["data"]["version"], e["data"]["content_hash"]) for e in read
            )
            assert max(events[name].values()) == 1  # no duplicates
            dlq = Counter(
                (headers_of(m)["original-offset"], headers_of(m)["error-code"]) for m in read_dlq(s, 6)
            )
            assert len(dlq) == 6 and max(dlq.values()) == 1
        assert events["killed"] == events["clean"]
    finally:
        drop_database(pg_engine, clean_db)
