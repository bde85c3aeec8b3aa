"""Store syncs vs the raw clients on the local stack's real servers, side by side in one run.

Starts a devstack (Apache Kafka, Neo4j, OpenSearch, PostgreSQL, Redis) on free ports in a
temporary directory and, for N synthetic policies (``--n``, default 10,000):

* graph  - ``Neo4jGraphStore.upsert`` vs the neo4j driver running a raw ``UNWIND $rows MERGE …``
           of the same nodes and relationships, 1,000 rows per statement;
* search - ``OpenSearchSearchStore.upsert`` vs ``opensearchpy.helpers.bulk`` of the same
           documents into an index with the same body, then one refresh.

Each side runs ``--rounds`` times on an emptied store, alternating, and the best of each is kept.
Nothing is asserted; the ratios (ours / raw throughput, goal >= 0.7) are printed. For
``publish_many`` vs raw confluent-kafka on this Kafka, run ``benchmarks/publish.py`` with
``AEGIS_KAFKA_BOOTSTRAP`` pointing at a devstack.

    .venv/bin/python benchmarks/servers.py --n 10000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import record
from stores import synthetic_docs

from aegis_orchestration.devstack import DevStack, Ports
from aegis_shared.stores import Neo4jGraphStore, OpenSearchSearchStore, PolicyDocument
from aegis_shared.stores import search_requests as requests
from aegis_shared.stores.cypher_graph import BATCH_SIZE, RELATIONSHIPS, graph_row

RAW_MERGE = (
    "UNWIND $rows AS row\n"
    "MERGE (p:Policy {policy_id: row.policy_id})\n"
    "SET p.content_hash = row.content_hash, p.title = row.title, p.summary = row.summary,"
    " p.status = row.status, p.url = row.url, p.period_start = row.period_start,"
    " p.period_end = row.period_end\n"
    + "".join(
        f"FOREACH (key IN row.{row_key} | MERGE (n:{label} {{{prop}: key}}) MERGE (p)-[:{rel}]->(n))\n"
        for rel, row_key, label, prop in RELATIONSHIPS
    )
)


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_graph(docs: list[PolicyDocument], uri: str, rounds: int) -> tuple[float, float]:
    store = Neo4jGraphStore(uri, "neo4j", "", "neo4j")
    store.ensure_schema()  # the raw load gets the same uniqueness constraints
    rows = [graph_row(doc) for doc in docs]
    driver = store.raw

    def raw() -> None:
        for start in range(0, len(rows), BATCH_SIZE):
            driver.execute_query(RAW_MERGE, rows=rows[start : start + BATCH_SIZE], database_="neo4j")

    ours_best = raw_best = float("inf")
    for _ in range(rounds):
        store.drop()
        raw_best = min(raw_best, timed(raw))
        store.drop()
        ours_best = min(ours_best, timed(lambda: store.upsert(docs)))
        assert store.count() == len(docs)
    store.drop()
    store.close()
    return ours_best, raw_best


def bench_search(docs: list[PolicyDocument], url: str, rounds: int) -> tuple[float, float]:
    from opensearchpy import helpers

    ours = OpenSearchSearchStore(url, "bench_ours")
    client = ours.raw
    body = requests.index_body("opensearch")

    def reset(index: str) -> None:
        client.indices.delete(index=index, ignore_unavailable=True)
        client.indices.create(index=index, body=body)

    def raw() -> None:
        actions = (
            {"_index": "bench_raw", "_id": doc.policy_id, "_source": requests.search_fields(doc)}
            for doc in docs
        )
        helpers.bulk(client, actions, chunk_size=requests.BATCH_SIZE, refresh=False)
        client.indices.refresh(index="bench_raw")

    ours_best = raw_best = float("inf")
    for _ in range(rounds):
        reset("bench_raw")
        raw_best = min(raw_best, timed(raw))
        reset("bench_ours")
        ours_best = min(ours_best, timed(lambda: ours.upsert(docs)))
        assert ours.count() == len(docs)
    for index in ("bench_raw", "bench_ours"):
        client.indices.delete(index=index, ignore_unavailable=True)
    ours.close()
    return ours_best, raw_best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    docs = synthetic_docs(args.n)
    root = Path(tempfile.mkdtemp(prefix="aegis-bench-servers-"))
    started = time.perf_counter()
    stack = DevStack(root, Ports.free()).up()
    print(
        f"stack up in {time.perf_counter() - started:.1f}s; N = {args.n:,} policies, best of {args.rounds}\n"
    )
    try:
        results = {
            "graph sync vs raw UNWIND MERGE (Neo4j 5.26)": bench_graph(docs, stack.neo4j.uri, args.rounds),
            "search sync vs raw bulk (OpenSearch 2.19)": bench_search(
                docs, stack.opensearch.url, args.rounds
            ),
        }
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'comparison':<46}{'ours rows/s':>13}{'raw rows/s':>13}{'ratio':>8}  goal")
    for name, (ours, raw) in results.items():
        ours_rate, raw_rate = args.n / ours, args.n / raw
        print(f"{name:<46}{ours_rate:>13,.0f}{raw_rate:>13,.0f}{ours_rate / raw_rate:>7.2f}x  >= 0.7x")
        record(name, ours_rate, "rows/s", raw=raw_rate, min_ratio=0.7)


if __name__ == "__main__":
    main()
