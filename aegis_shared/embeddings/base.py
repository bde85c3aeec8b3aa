"""The embedder contract: text in, L2-normalised float32 vectors out, tagged with a model id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Embeds passages (documents) and queries with the prefixes the model was trained on.

    ``model_id`` is recorded with every stored vector: two embedders with different ids produce
    incomparable vectors, and the vector store refuses to mix them (DP_3005).
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """``(len(texts), dim)`` array, one row per text, in order."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """``(dim,)`` vector for a search query."""
        ...


def check_texts(texts: Sequence[str]) -> list[str]:
    """Reject a bare string or non-string items (a str is a Sequence and would embed per char)."""
    from aegis_shared.errors import ValidationError

    if isinstance(texts, str):
        raise ValidationError("VALID_3001", "embed_passages takes a sequence of texts, not one string")
    items = list(texts)
    for index, text in enumerate(items):
        if not isinstance(text, str):
            raise ValidationError(
                "VALID_3001",
                "every text to embed must be a string",
                details={"index": index, "type": type(text).__name__},
            )
    return items
