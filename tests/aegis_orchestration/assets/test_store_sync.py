"""Store syncs on the real embedded stores: drift is named and repaired exactly; an outage is contained."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from aegis_orchestration.assets.stores import store_assets, store_checks
from aegis_orchestration.definitions import all_assets, defs
from aegis_orchestration.devstack.process import free_port
from aegis_orchestration.devstack.servers import GraphServer
from aegis_orchestration.resources import GraphStoreResource
from aegis_orchestration.sources.landing import insert_changed
from aegis_orchestration.sources.snapshot import load_announcements
from aegis_shared.stores.base import PolicyDocument

DAY = "2026-11-20"
CHECKS = list(defs.asset_checks or [])
SERVING = dg.AssetSelection.groups("serving")


def land_snapshot(resources: dict[str, object], source: str = "bizinfo") -> None:
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.begin() as conn:
        insert_changed(conn, load_announcements(source), date.fromisoformat(DAY))


def run(
    resources: dict[str, object], selection: dg.AssetSelection | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*all_assets, *CHECKS],
        selection=selection or dg.AssetSelection.groups("cold_path", "serving"),
        resources=resources,
        partition_key=DAY,
        raise_on_error=False,
        instance=dg.DagsterInstance.ephemeral(),
    )


def run_checks(resources: dict[str, object]) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize(
        [*store_assets, *store_checks],
        selection=dg.AssetSelection.checks(*store_checks),
        resources=resources,
        raise_on_error=False,
        instance=dg.DagsterInstance.ephemeral(),
    )
    return {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}


def active_ids(resources: dict[str, object]) -> list[str]:
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return list(
            conn.execute(sa.text("SELECT id FROM policies WHERE status = 'active' ORDER BY id")).scalars()
        )


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset
    )
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


@pytest.fixture(scope="module")
def synced(make_resources: Callable[..., dict[str, object]]) -> dict[str, object]:
    resources = make_resources()
    land_snapshot(resources)
    assert run(resources).success
    return resources


def test_drift_behind_the_platforms_back_is_named_then_repaired_exactly(synced: dict[str, object]) -> None:
    ids = active_ids(synced)
    assert len(ids) >= 15
    deleted, edited = ids[:5], ids[5:10]
    orphans = [f"orphan:{i}" for i in range(5)]

    vectors = synced["vectors"].open()  # type: ignore[attr-defined]
    graph = synced["graph"].open()  # type: ignore[attr-defined]
    search = synced["search"].open()  # type: ignore[attr-defined]
    try:
        vectors.delete(deleted)
        for pid in edited:
            graph.raw.query("MATCH (p:Policy {policy_id: $id}) SET p.content_hash = 'tampered'", {"id": pid})
        search.upsert([PolicyDocument(policy_id=pid, content_hash="x", title="고아 문서") for pid in orphans])
    finally:
        for store in (vectors, graph, search):
            store.close()

    checks = run_checks(synced)
    assert (
        not checks["policy_vectors"].passed
        and checks["policy_vectors"].metadata["missing_ids"].value == deleted
    )
    assert not checks["policy_graph"].passed and checks["policy_graph"].metadata["stale_ids"].value == edited
    assert not checks["policy_search_index"].passed
    assert checks["policy_search_index"].metadata["orphaned_ids"].value == orphans
    for evaluation in checks.values():
        counts = {k: evaluation.metadata[k].value for k in ("missing", "stale", "orphaned")}
        assert sum(counts.values()) == 5, counts

    repair = run(synced, SERVING)
    assert repair.success
    assert metadata(repair, "policy_vectors")["upserted"] == 5
    assert metadata(repair, "policy_graph")["upserted"] == 5
    assert (
        metadata(repair, "policy_search_index")["deleted"],
        metadata(repair, "policy_search_index")["upserted"],
    ) == (5, 0)
    assert all(e.passed for e in run_checks(synced).values())


class OwnGraphServer:
    """A FalkorDB server of this test's own, so stopping it leaves the session's server alone."""

    def __init__(self) -> None:
        self.server = GraphServer(Path(tempfile.mkdtemp(prefix="aegis-graph-outage-")), free_port())
        self.pid: int | None = self.server.start()

    def stop(self) -> None:
        self.server.stop(self.pid)
        self.pid = None

    def restart(self) -> None:
        self.pid = self.server.start()


@pytest.fixture
def own_graph_server() -> Iterator[OwnGraphServer]:
    own = OwnGraphServer()
    try:
        yield own
    finally:
        own.stop()


def test_graph_outage_fails_only_the_graph_sync_and_the_next_run_repairs_it(
    make_resources: Callable[..., dict[str, object]], own_graph_server: OwnGraphServer
) -> None:
    resources = make_resources(graph=GraphStoreResource(url=own_graph_server.server.url, graph_name="outage"))
    land_snapshot(resources)
    assert run(resources).success
    expected = len(active_ids(resources))

    own_graph_server.stop()
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        before = conn.execute(
            sa.text("SELECT id, content_hash, status, version FROM policies ORDER BY id")
        ).all()

    outage = run(resources)
    assert not outage.success
    failed = {e.step_key: e for e in outage.get_step_failure_events()}
    assert set(failed) == {"policy_graph"}
    assert "DP_3002" in failed["policy_graph"].step_failure_data.error.to_string()
    succeeded = {e.asset_key.to_user_string() for e in outage.get_asset_materialization_events()}
    assert {"policies", "policy_vectors", "policy_search_index"} <= succeeded
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT id, content_hash, status, version FROM policies ORDER BY id")).all()
            == before
        )

    own_graph_server.restart()  # a fresh, empty graph server on the same port
    recovered = run(resources)
    assert recovered.success
    assert metadata(recovered, "policy_graph")["upserted"] == expected
    assert all(e.passed for e in recovered.get_asset_check_evaluations())
