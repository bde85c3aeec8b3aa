"""The cold path on the Celery executor: two real ``dagster-celery worker`` processes, Redis as broker.

Each run is a real out-of-process run (``python -m aegis_orchestration.runs``) on a PostgreSQL
Dagster instance, with ``AEGIS_EXECUTOR=celery``; the workers are started here with the same
``dagster-celery worker start`` command a platform engineer runs. What a run wrote is compared
with an in-process run of the same day on a database of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from aegis_orchestration.definitions import all_assets, defs
from aegis_orchestration.devstack import DevStack
from aegis_orchestration.execution import load_settings, worker_config
from aegis_orchestration.resources import VectorStoreResource
from aegis_orchestration.sources.landing import insert_changed
from aegis_orchestration.sources.snapshot import load_announcements
from aegis_shared.errors import AegisError
from tests.aegis_orchestration.hot_path.helpers import Database, create_database, drop_database

REPO = Path(__file__).resolve().parents[2]
DAY = "2026-11-20"
STORES = ("policy_vectors", "policy_graph", "policy_search_index")
TABLES = ("quality_metrics", "processing_history", "audit_logs", "event_outbox")
CLEARED = ("policies", "store_sync_state", "event_outbox_published", "pipeline_runs", *TABLES)
# Short enough that the test sees a dead worker's task handed over, longer than any step here.
VISIBILITY_TIMEOUT = 25


@dataclass
class Deployment:
    """One Aegis deployment on the session's servers: its own databases, stores, broker and workers."""

    env: dict[str, str]
    db: Database
    instance: dg.DagsterInstance
    root: Path
    workers: dict[str, subprocess.Popen[bytes]]

    def start_worker(self, name: str) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.workers[name] = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster-celery"),
                "worker",
                "start",
                "-A",
                "dagster_celery.app",
                "-y",
                str(self.root / "celery.yaml"),
                "-n",
                name,
                "-l",
                "WARNING",
                "--",
                # One step at a time per worker, in the worker's own process.
                "--pool=solo",
            ],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill_worker(self, name: str) -> None:
        process = self.workers.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def launch(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "aegis_orchestration.runs", "cold_path_job", DAY],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=(self.root / f"run-{uuid.uuid4().hex[:6]}.log").open("wb"),
            text=True,
        )


def _wait_for_workers(deployment: Deployment, names: tuple[str, ...], timeout: float = 120) -> None:
    from celery import Celery

    app = Celery(broker=deployment.env["AEGIS_CELERY_BROKER_URL"])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=2) or []
            seen = {name.split("@")[0] for reply in replies for name in reply}
            if set(names) <= seen:
                return
            for name, process in deployment.workers.items():
                assert process.poll() is None, (deployment.root / f"{name}.log").read_text()[-3000:]
        raise AssertionError(f"workers {names} did not answer within {timeout}s")
    finally:
        app.close()


@pytest.fixture(scope="module")
def deployment(
    devstack: DevStack, pg_engine: sa.Engine, pg_url: str, milvus_server_uri: str, tmp_path_factory
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("celery")
    db = create_database(pg_engine, pg_url)
    dagster_db = f"dg_{uuid.uuid4().hex[:10]}"
    with pg_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{dagster_db}"'))
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        **devstack.env(embedded_stores=True),
        # `dagster-celery worker start` runs the `celery` command beside it.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(home),
        "AEGIS_DAGSTER_PG_URL": devstack.postgres.url(dagster_db, driver="postgresql+psycopg2"),
        "AEGIS_POSTGRES_URL": db.url,
        "AEGIS_ENV": f"celery{tag}",
        # Steps of one run land on different machines in production: the stores are servers.
        "AEGIS_MILVUS_URI": milvus_server_uri,
        "AEGIS_MILVUS_COLLECTION": f"celery_{tag}",
        "AEGIS_GRAPH_NAME": f"celery_{tag}",
        "AEGIS_SEARCH_PATH": str(root / "search"),
        "AEGIS_EXECUTOR": "celery",
        # A Redis database of its own on the devstack's Redis, so no other test sees the queue.
        "AEGIS_CELERY_BROKER_URL": f"{devstack.graph.url}/{7 + int(tag, 16) % 8}",
        "AEGIS_CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "AEGIS_LOG_LEVEL": "WARNING",
    }
    (root / "celery.yaml").write_text(yaml.safe_dump(worker_config(load_settings(env))))
    with db.engine.begin() as conn:
        insert_changed(conn, load_announcements("bizinfo"), date.fromisoformat(DAY))
    saved = os.environ.get("AEGIS_DAGSTER_PG_URL")
    os.environ["AEGIS_DAGSTER_PG_URL"] = env["AEGIS_DAGSTER_PG_URL"]
    instance = dg.DagsterInstance.from_config(str(home))
    deployment = Deployment(env, db, instance, root, {})
    try:
        for name in ("w1", "w2"):
            deployment.start_worker(name)
        _wait_for_workers(deployment, ("w1", "w2"))
        yield deployment
    finally:
        for name in list(deployment.workers):
            deployment.kill_worker(name)
        instance.dispose()
        if saved is None:
            os.environ.pop("AEGIS_DAGSTER_PG_URL", None)
        else:
            os.environ["AEGIS_DAGSTER_PG_URL"] = saved
        drop_database(pg_engine, db)
        with pg_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{dagster_db}" WITH (FORCE)'))


def written(engine: sa.Engine) -> dict[str, object]:
    """What a cold-path run leaves in PostgreSQL, without the run ids and timestamps that differ."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, status, content_hash, version, source_ids FROM policies ORDER BY id")
        ).all()
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
        # Deterministic per message (policy id and version): a message written twice shows here.
        # A store's DataSyncCompleted is keyed by its run, so it is compared by store instead.
        keys = conn.execute(sa.text("SELECT dedupe_key FROM event_outbox ORDER BY 1")).scalars().all()
    events = [k for k in keys if not k.startswith("DataSyncCompleted:")]
    syncs = sorted(k.split(":")[1] for k in keys if k.startswith("DataSyncCompleted:"))
    return {"policies": [tuple(r) for r in rows], **counts, "events": events, "sync_reports": syncs}


def store_fingerprints(resources: dict[str, object]) -> dict[str, dict[str, str]]:
    out = {}
    for key in ("vectors", "graph", "search"):
        store = resources[key].open()  # type: ignore[attr-defined]
        try:
            out[key] = store.fingerprints()
        finally:
            store.close()
    return out


@pytest.fixture(scope="module")
def in_process(make_resources: Callable[..., dict[str, object]], milvus_server_uri: str) -> dict[str, object]:
    """The same day run in process (``dg.materialize``), on a database and stores of its own."""
    resources = make_resources(
        vectors=VectorStoreResource(uri=milvus_server_uri, collection=f"inproc_{uuid.uuid4().hex[:8]}")
    )
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.begin() as conn:
        insert_changed(conn, load_announcements("bizinfo"), date.fromisoformat(DAY))
    result = dg.materialize(
        [*all_assets, *(defs.asset_checks or [])],
        selection=dg.AssetSelection.groups("cold_path", "serving"),
        resources=resources,
        partition_key=DAY,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    return {"written": written(engine), "stores": store_fingerprints(resources)}


def deployment_stores(deployment: Deployment) -> dict[str, dict[str, str]]:
    from aegis_orchestration.resources import GraphStoreResource, SearchStoreResource

    env = deployment.env
    return store_fingerprints(
        {
            "vectors": VectorStoreResource(
                uri=env["AEGIS_MILVUS_URI"], collection=env["AEGIS_MILVUS_COLLECTION"]
            ),
            "graph": GraphStoreResource(url=env["AEGIS_GRAPH_URL"], graph_name=env["AEGIS_GRAPH_NAME"]),
            "search": SearchStoreResource(path=env["AEGIS_SEARCH_PATH"]),
        }
    )


def run_id_of(run: subprocess.Popen[str]) -> str:
    assert run.stdout is not None
    line = run.stdout.readline().strip()
    assert line, "the run printed no run id"
    return line


def celery_steps(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step key, worker name) for every step a Celery worker started, in order, from the run's events."""
    out = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        if event is None or "in celery worker" not in (event.message or ""):
            continue
        worker = event.engine_event_data.metadata["Celery worker"].value  # type: ignore[union-attr]
        out.append((event.step_key or "", str(worker).split("@")[0]))
    return out


def finish(run: subprocess.Popen[str], timeout: float = 300) -> str:
    out, _ = run.communicate(timeout=timeout)
    return out.strip().splitlines()[-1] if out.strip() else ""


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def materialized(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    return {
        e.dagster_event.asset_key.to_user_string()  # type: ignore[union-attr]
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    }


def test_steps_run_on_both_workers_and_write_what_the_in_process_run_writes_while_pools_hold(
    deployment: Deployment, in_process: dict[str, object]
) -> None:
    instance = deployment.instance
    storage = instance.event_log_storage
    # Another run is writing the search index: this run's search sync must wait for it.
    assert storage.initialize_concurrency_limit_to_default("store_search")
    storage.claim_concurrency_slot("store_search", "other-run", "policy_search_index")
    try:
        run = deployment.launch()
        run_id = run_id_of(run)
        wait_until(
            lambda: {"policies", "policy_vectors", "policy_graph"} <= materialized(instance, run_id),
            240,
            "the other store syncs",
        )
        time.sleep(3)
        assert "policy_search_index" not in {step for step, _ in celery_steps(instance, run_id)}
        assert run.poll() is None
    finally:
        storage.free_concurrency_slots_for_run("other-run")
    assert finish(run) == "SUCCESS"

    steps = celery_steps(instance, run_id)
    assert {step for step, _ in steps} >= {
        "validated_announcements",
        "deduplicated_announcements",
        "policy_quality",
        "policies",
        *STORES,
    }
    assert {worker for _, worker in steps} == {"w1", "w2"}, steps
    assert written(deployment.db.engine) == in_process["written"]
    assert deployment_stores(deployment) == in_process["stores"]


def test_a_worker_killed_mid_step_has_its_step_retried_on_the_other_and_nothing_written_twice(
    deployment: Deployment, in_process: dict[str, object]
) -> None:
    engine = deployment.db.engine
    # Start from an empty day: the first test's run already wrote it.
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(CLEARED)} CASCADE"))
    for store in ("vectors", "graph", "search"):
        _clear_store(deployment, store)

    # The policies step blocks on its quality_metrics insert, inside its transaction, after its
    # policy rows are written: a worker killed there has written nothing that was committed.
    blocker = engine.connect()
    blocker.execute(sa.text("LOCK TABLE quality_metrics IN ACCESS EXCLUSIVE MODE"))
    try:
        run = deployment.launch()
        run_id = run_id_of(run)
        instance = deployment.instance
        first = wait_until(
            lambda: [w for s, w in celery_steps(instance, run_id) if s == "policies"],
            240,
            "the policies step to start",
        )[0]  # type: ignore[index]
        wait_until(lambda: _waiting_on_lock(engine), 120, "the policies step to block inside its transaction")
        deployment.kill_worker(first)
    finally:
        blocker.rollback()
        blocker.close()

    assert finish(run, timeout=VISIBILITY_TIMEOUT * 4 + 240) == "SUCCESS"
    runs_of_policies = [w for s, w in celery_steps(instance, run_id) if s == "policies"]
    survivor = ({"w1", "w2"} - {first}).pop()
    assert runs_of_policies == [first, survivor]
    assert written(engine) == in_process["written"]
    assert deployment_stores(deployment) == in_process["stores"]


def _waiting_on_lock(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE '%quality_metrics%'"
                )
            ).scalar_one()
        )


def _clear_store(deployment: Deployment, key: str) -> None:
    from aegis_orchestration.resources import GraphStoreResource, SearchStoreResource

    env = deployment.env
    resource = {
        "vectors": VectorStoreResource(
            uri=env["AEGIS_MILVUS_URI"], collection=env["AEGIS_MILVUS_COLLECTION"]
        ),
        "graph": GraphStoreResource(url=env["AEGIS_GRAPH_URL"], graph_name=env["AEGIS_GRAPH_NAME"]),
        "search": SearchStoreResource(path=env["AEGIS_SEARCH_PATH"]),
    }[key]
    store = resource.open()
    try:
        ids = list(store.fingerprints())
        if ids:
            store.delete(ids)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("environ", "code", "names"),
    [
        ({"AEGIS_EXECUTOR": "spark"}, "SYS_7030", "multiprocess, celery"),
        ({"AEGIS_EXECUTOR": "celery"}, "SYS_7031", "AEGIS_REDIS_URL"),
        (
            {"AEGIS_EXECUTOR": "celery", "AEGIS_CELERY_BROKER_URL": "http://user:secret@broker:80"},
            "SYS_7031",
            "AEGIS_CELERY_BROKER_URL",
        ),
    ],
)
def test_a_bad_executor_setting_is_refused_by_name_without_echoing_the_url(
    environ: dict[str, str], code: str, names: str
) -> None:
    with pytest.raises(AegisError) as raised:
        load_settings(environ)
    assert raised.value.code == code
    assert names in str(raised.value)
    assert "secret" not in str(raised.value)


def test_the_executor_is_multiprocess_unless_set() -> None:
    from aegis_orchestration.execution import executor_from_settings

    assert executor_from_settings(load_settings({})).name == "multi_or_in_process_executor"
    celery = executor_from_settings(
        load_settings({"AEGIS_EXECUTOR": "celery", "AEGIS_REDIS_URL": "redis://r:6379/0"})
    )
    assert celery.name == "celery"
