"""Event store appends and reads against the raw psycopg equivalent, on a PostgreSQL this script starts.

* batch append: ``EventStore.append_to_streams`` (versions computed in SQL, one statement per
  chunk, as the pipeline writes a run's status changes) against a raw ``executemany`` INSERT of
  the same rows with their versions already known (what a client that skipped the store would do);
* single appends with an expected version (one savepoint and statement each) against raw single
  INSERTs, each in its own transaction;
* ``read_all`` over every event in pages of 1000 against a raw ``SELECT`` by position.

Nothing is asserted; it prints a table with the ratio ours/raw (higher is better for rates).

    .venv/bin/python benchmarks/eventstore.py --n 20000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson
import psycopg
import sqlalchemy as sa
from results import record

from aegis_orchestration.devstack.process import free_port
from aegis_orchestration.devstack.servers import PostgresServer
from aegis_shared.database import apply_registry
from aegis_shared.database.schema_registry import default_registry_dir
from aegis_shared.eventstore import START, EventStore, NewEvent

STREAMS = 500


def event(i: int) -> NewEvent:
    data = {"policy_id": f"bizinfo:{i % STREAMS}", "status": "active", "version": i, "stage": "cold_path"}
    return NewEvent("PolicyStatusChanged", data, {"run_id": "bench"})


def fresh(server: PostgresServer, name: str, registry: Path) -> sa.Engine:
    with psycopg.connect(server.url("postgres", driver="postgresql"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(server.url(name))
    apply_registry(engine, registry)
    return engine


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=2_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aegis-bench-es-", dir="/tmp"))
    registry = root / "registry"
    registry.mkdir()
    for table in ("event_store", "event_subscriptions"):
        shutil.copy(default_registry_dir() / f"{table}.yaml", registry)
    server = PostgresServer(root, free_port())
    pid = server.start()
    try:
        ours_engine = fresh(server, "ours", registry)
        raw_engine = fresh(server, "raw", registry)
        raw_url = server.url("raw", driver="postgresql")
        events = [(f"policy-bizinfo:{i % STREAMS}", event(i)) for i in range(args.n)]
        store = EventStore(ours_engine)

        started = time.perf_counter()
        for start in range(0, len(events), 1000):
            store.append_to_streams(events[start : start + 1000])
        ours_batch = time.perf_counter() - started

        rows = [
            (stream, i // STREAMS + 1, e.event_id, e.event_type, orjson.dumps(dict(e.data)).decode(), "{}")
            for i, (stream, e) in enumerate(events)
        ]
        insert = (
            "INSERT INTO event_store (stream_id, stream_version, event_id, event_type, data, metadata) "
            "VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb)"
        )
        with psycopg.connect(raw_url) as conn:
            started = time.perf_counter()
            for start in range(0, len(rows), 1000):
                with conn.cursor() as cur:
                    cur.executemany(insert, rows[start : start + 1000])
                conn.commit()
            raw_batch = time.perf_counter() - started

        started = time.perf_counter()
        for i in range(args.single):
            store.append_event(f"single-{i % 50}", event(i), i // 50)
        ours_single = time.perf_counter() - started
        with psycopg.connect(raw_url) as conn:
            started = time.perf_counter()
            for i in range(args.single):
                conn.execute(insert, (f"single-{i % 50}", i // 50 + 1, uuid.uuid4(), "X", "{}", "{}"))
                conn.commit()
            raw_single = time.perf_counter() - started

        started = time.perf_counter()
        after, read = START, 0
        while page := store.read_all(after, limit=1000):
            read += len(page)
            after = page[-1].checkpoint
        ours_read = time.perf_counter() - started
        with psycopg.connect(raw_url) as conn:
            started = time.perf_counter()
            position, raw_read = 0, 0
            while page := conn.execute(
                "SELECT global_position, stream_id, stream_version, event_id, event_type, data, metadata, "
                "recorded_at FROM event_store WHERE global_position > %s ORDER BY global_position LIMIT 1000",
                (position,),
            ).fetchall():
                raw_read += len(page)
                position = page[-1][0]
            raw_read_s = time.perf_counter() - started

        print(f"{'operation':38} {'ours/s':>10} {'raw/s':>10} {'ours/raw':>9}")
        for label, n_ours, t_ours, n_raw, t_raw in (
            (f"batch append ({args.n}, chunks of 1000)", args.n, ours_batch, args.n, raw_batch),
            (
                f"single append, expected version ({args.single})",
                args.single,
                ours_single,
                args.single,
                raw_single,
            ),
            (f"read_all in pages of 1000 ({read})", read, ours_read, raw_read, raw_read_s),
        ):
            ours, raw = rate(n_ours, t_ours), rate(n_raw, t_raw)
            print(f"{label:38} {ours:10.0f} {raw:10.0f} {ours / raw:9.2f}")
            record(f"event store {label}", ours, "events/s", raw=raw)
        ours_engine.dispose()
        raw_engine.dispose()
    finally:
        server.stop(pid)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
