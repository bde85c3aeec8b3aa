"""The production option: any sentence-transformers model named in settings.

sentence-transformers (and torch) are not a dependency of aegis_shared; the import happens
only when this embedder is built, and a missing package is a clear SYS_7003 configuration error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aegis_shared.embeddings.base import Vectors, check_texts
from aegis_shared.errors import SystemError_


def _is_e5(model_name: str) -> bool:
    # e5 models were trained with "query: " / "passage: " prefixes; without them recall drops.
    return "e5" in model_name.lower().rsplit("/", 1)[-1]


class SentenceTransformerEmbedder:
    """Wraps ``SentenceTransformer(model_name)`` with normalised output and e5 prefixes."""

    def __init__(self, model_name: str, batch_size: int = 64, device: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise SystemError_(
                "SYS_7003",
                "AEGIS_EMBEDDING_BACKEND=sentence-transformers needs the sentence-transformers "
                "package, which is not installed",
                details={"setting": "embedding_backend", "model": model_name},
            ) from exc
        self._model_name = model_name
        self._model: Any = SentenceTransformer(model_name, device=device)
        self._batch_size = batch_size
        self._prefix = _is_e5(model_name)
        dim = self._model.get_sentence_embedding_dimension()
        if not dim:
            raise SystemError_("SYS_7003", f"model {model_name!r} does not report an embedding dimension")
        self._dim = int(dim)

    @property
    def model_id(self) -> str:
        return f"sentence-transformers:{self._model_name}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def raw(self) -> Any:
        return self._model

    def _encode(self, texts: list[str]) -> Vectors:
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        items = check_texts(texts)
        if not items:
            return np.empty((0, self._dim), dtype=np.float32)
        if self._prefix:
            items = [f"passage: {text}" for text in items]
        return self._encode(items)

    def embed_query(self, text: str) -> Vectors:
        check_texts([text])
        vector: Vectors = self._encode([f"query: {text}" if self._prefix else text])[0]
        return vector
