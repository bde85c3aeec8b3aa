"""Search store specifics on real tantivy and OpenSearch indexes: Korean n-grams, shared writer, outages."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from aegis_shared.config import Settings
from aegis_shared.errors import ExternalServiceError, ValidationError
from aegis_shared.stores import (
    ElasticsearchSearchStore,
    OpenSearchSearchStore,
    TantivySearchStore,
    open_search_store,
    search_requests,
)
from aegis_shared.stores.elasticsearch_search import INDEX_MAPPINGS, INDEX_SETTINGS
from aegis_shared.stores.search_documents import KEYWORD_FIELDS, TEXT_FIELDS, search_fields
from aegis_shared.stores.tantivy_search import ngram_analyzer

from .conftest import make_doc

CORPUS = [
    make_doc(
        "startup", title="청년창업지원사업 모집 공고", summary="예비창업자 사업화 자금", category="창업"
    ),
    make_doc(
        "loan",
        title="소상공인 정책자금 융자",
        summary="운전자금과 시설자금을 저리로 빌려줍니다.",
        organization="소상공인시장진흥공단",
        executing_organization=None,
        category="금융",
    ),
    make_doc(
        "export",
        title="Global Export Voucher 수출바우처",
        summary="해외 마케팅 비용 지원",
        organization="KOTRA",
        executing_organization=None,
        category="수출",
    ),
]


@pytest.fixture()
def indexed(search: Any) -> Any:
    search.upsert(CORPUS)
    return search


def _ids(hits: list[tuple[str, float]]) -> list[str]:
    return [policy_id for policy_id, _ in hits]


def test_two_syllable_korean_word_is_found_inside_a_compound(indexed: Any) -> None:
    # "창업" appears only inside "청년창업지원사업": a whitespace tokenizer would miss it.
    assert _ids(indexed.search("창업"))[0] == "startup"
    assert _ids(indexed.search("융자")) == ["loan"]
    assert _ids(indexed.search("바우처")) == ["export"]


def test_organization_and_multi_word_queries(indexed: Any) -> None:
    assert _ids(indexed.search("진흥공단")) == ["loan"]
    assert _ids(indexed.search("정책자금 수출"))[:2] in (["loan", "export"], ["export", "loan"])


def test_latin_text_is_case_insensitive(indexed: Any) -> None:
    assert _ids(indexed.search("export")) == ["export"]
    assert _ids(indexed.search("KOTRA")) == ["export"]


def test_changed_document_is_searched_by_its_new_text(indexed: Any) -> None:
    indexed.upsert([make_doc("loan", "h2", title="스마트공장 구축 지원")])
    assert _ids(indexed.search("융자")) == []
    assert _ids(indexed.search("스마트공장")) == ["loan"]
    assert indexed.count() == 3


@pytest.mark.parametrize("query", ['"unbalanced', "title:(", "AND OR NOT", "*", "창업 )"])
def test_hostile_or_malformed_queries_never_raise(indexed: Any, query: str) -> None:
    assert isinstance(indexed.search(query), list)


def test_blank_query_returns_nothing_and_non_text_is_refused(indexed: Any) -> None:
    assert indexed.search("   ") == []
    with pytest.raises(ValidationError):
        indexed.search(None)  # type: ignore[arg-type]


def test_analyzer_emits_two_and_three_character_grams() -> None:
    tokens = ngram_analyzer().analyze("창업지원")
    assert {"창업", "업지", "지원", "창업지", "업지원"} <= set(tokens)


def test_two_stores_on_one_path_share_the_single_writer(tmp_path: Path) -> None:
    first = TantivySearchStore(tmp_path / "idx")
    second = TantivySearchStore(tmp_path / "idx")  # would hit LockBusy without the shared writer
    first.upsert([make_doc("p1")])
    second.upsert([make_doc("p2")])
    assert first.fingerprints() == second.fingerprints() == {"p1": "h1", "p2": "h1"}
    first.close()
    second.upsert([make_doc("p3")])  # still usable: the writer lives until the last close
    second.close()
    reopened = TantivySearchStore(tmp_path / "idx")  # lock released, data persisted
    assert reopened.count() == 3
    reopened.close()


def test_closed_store_reports_the_search_code(tmp_path: Path) -> None:
    store = TantivySearchStore(tmp_path / "idx")
    store.close()
    with pytest.raises(ExternalServiceError) as info:
        store.ping()
    assert info.value.code == "EXT_5007"


def test_unusable_index_path_raises_the_search_code(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ExternalServiceError) as info:
        open_search_store(Settings(search_path=blocker, elasticsearch_url=None))
    assert info.value.code == "EXT_5007"
    assert info.value.details["backend"] == "tantivy"
    assert info.value.__cause__ is not None


def test_tantivy_and_elasticsearch_index_the_same_fields() -> None:
    fields = search_fields(make_doc("p1"))
    assert set(fields) == set(TEXT_FIELDS) | set(KEYWORD_FIELDS)
    assert set(INDEX_MAPPINGS["properties"]) == set(fields)
    for name in TEXT_FIELDS:
        assert INDEX_MAPPINGS["properties"][name]["analyzer"] == "ko"
        assert INDEX_MAPPINGS["properties"][name]["fields"]["keyword"]["type"] == "keyword"
    assert INDEX_SETTINGS["analysis"]["tokenizer"]["ko_nori"]["type"] == "nori_tokenizer"
    assert INDEX_MAPPINGS["properties"]["policy_id"] == {"type": "keyword"}


def test_elasticsearch_and_opensearch_share_every_request_but_the_analyzer() -> None:
    elastic, opensearch = (
        search_requests.index_body("elasticsearch"),
        search_requests.index_body("opensearch"),
    )
    assert elastic["mappings"] == opensearch["mappings"] == INDEX_MAPPINGS
    assert elastic["settings"]["analysis"]["analyzer"]["ko"]["tokenizer"] == "ko_nori"
    ngram = opensearch["settings"]["analysis"]["tokenizer"]["ko_ngram"]
    assert (ngram["type"], ngram["min_gram"], ngram["max_gram"]) == ("ngram", 2, 3)
    assert ElasticsearchSearchStore._search is not OpenSearchSearchStore._search  # only the call differs
    for name in ("upsert", "delete", "fingerprints", "count", "search", "ensure_schema"):
        assert getattr(ElasticsearchSearchStore, name) is getattr(OpenSearchSearchStore, name), name


def test_opensearch_analyzer_makes_tantivys_grams_within_words(opensearch_url: str) -> None:
    store = open_search_store(Settings(opensearch_url=opensearch_url, search_index="t_analyzer_probe"))
    store.ensure_schema()
    try:
        text = "청년창업 Export"
        tokens = store.raw.indices.analyze(index="t_analyzer_probe", body={"analyzer": "ko", "text": text})
        grams = sorted(token["token"] for token in tokens["tokens"])
        # tantivy's n-grams also span the space ("업 e"); OpenSearch's stop at word boundaries.
        assert grams == sorted(gram for gram in ngram_analyzer().analyze(text) if " " not in gram)
    finally:
        store.raw.indices.delete(index="t_analyzer_probe")
        store.close()


def test_unreachable_elasticsearch_raises_the_search_code() -> None:
    # The real client against a closed port: exercises the production adapter's error path.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(elasticsearch_url=f"http://127.0.0.1:{port}")
    store = open_search_store(settings)
    assert isinstance(store, ElasticsearchSearchStore)
    for call in (store.ping, store.count, lambda: store.upsert([make_doc("p1")])):
        with pytest.raises(ExternalServiceError) as info:
            call()
        assert info.value.code == "EXT_5007"
        assert info.value.details["backend"] == "elasticsearch"
    store.close()


def test_an_index_with_a_foreign_schema_is_refused_not_overwritten(tmp_path: Path) -> None:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("other", stored=True)
    (tmp_path / "idx").mkdir()
    foreign = tantivy.Index(builder.build(), path=str(tmp_path / "idx"))
    writer = foreign.writer(heap_size=15_000_000, num_threads=1)
    writer.add_document(tantivy.Document(other="keep me"))
    writer.commit()
    writer.wait_merging_threads()
    with pytest.raises(ExternalServiceError) as info:
        TantivySearchStore(tmp_path / "idx")
    assert info.value.code == "EXT_5007"
    foreign.reload()
    assert foreign.searcher().num_docs == 1  # the existing index was left alone


def _snapshot_documents() -> list[Any]:
    from aegis_orchestration.sources.snapshot import load_announcements
    from aegis_shared.stores import PolicyDocument

    docs = {}
    for item in load_announcements():
        policy_id = f"{item.source}:{item.source_id}"
        docs[policy_id] = PolicyDocument(
            policy_id=policy_id,
            content_hash="h",
            title=item.title,
            summary=(item.summary or "")[:2_000] or None,
            organization=item.organization,
            executing_organization=item.executing_organization,
            category=item.category,
        )
    return list(docs.values())


def _recall(store: Any, docs: list[Any], queries: list[str]) -> float:
    """Mean over queries of the share of documents holding the word that the store returns."""
    shares = []
    for word in queries:
        relevant = {
            d.policy_id
            for d in docs
            if any(word in (text or "") for text in (d.title, d.summary, d.organization, d.category))
            or word in (d.executing_organization or "")
        }
        found = {policy_id for policy_id, _ in store.search(word, k=len(docs))}
        shares.append(len(found & relevant) / len(relevant))
    return sum(shares) / len(shares)


def test_korean_recall_on_the_snapshot_opensearch_at_least_tantivys(
    tmp_path: Path, opensearch_url: str
) -> None:
    import re
    from collections import Counter

    docs = _snapshot_documents()
    assert len(docs) >= 300
    # The snapshot's own vocabulary: its 40 most frequent Hangul words of two to four syllables,
    # looked for anywhere in a document (inside compounds too, as users type them).
    words = Counter(w for d in docs for w in re.findall(r"[가-힣]{2,4}", d.title))
    queries = [word for word, _ in words.most_common(40)]
    tantivy = open_search_store(
        Settings(search_path=tmp_path / "idx", elasticsearch_url=None, opensearch_url=None)
    )
    opensearch = open_search_store(Settings(opensearch_url=opensearch_url, search_index="t_snapshot_recall"))
    try:
        for store in (tantivy, opensearch):
            store.ensure_schema()
            assert store.upsert(docs) == len(docs)
        tantivy_recall, opensearch_recall = (
            _recall(tantivy, docs, queries),
            _recall(opensearch, docs, queries),
        )
        print(
            f"Korean recall over {len(queries)} snapshot words: tantivy {tantivy_recall:.3f}, "
            f"OpenSearch {opensearch_recall:.3f}"
        )
        assert opensearch_recall >= tantivy_recall
        assert opensearch_recall >= 0.95
    finally:
        opensearch.raw.indices.delete(index="t_snapshot_recall", ignore_unavailable=True)
        opensearch.close()
        tantivy.close()
