"""Vector store on Milvus through ``pymilvus.MilvusClient``: Milvus Lite or a Milvus server.

One adapter serves both: a local ``.db`` URI opens Milvus Lite (embedded), an ``http(s)://``
URI a server; the collection layout, batching and queries are identical, so CI covers the
production code path. Each collection holds vectors of exactly one embedding model: the model
id and dimension are recorded as collection properties and on every row, and a mismatch is
refused with DP_3005 instead of silently mixing incomparable vectors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aegis_shared.embeddings import Embedder, Vectors
from aegis_shared.errors import PipelineError, ValidationError
from aegis_shared.stores.base import (
    MAX_CONTENT_HASH_LENGTH,
    MAX_POLICY_ID_LENGTH,
    PolicyDocument,
    unique_by_id,
    validate_ids,
)
from aegis_shared.stores.batching import chunks
from aegis_shared.stores.failures import backend_errors

BATCH_SIZE = 1_000
# Milvus caps one query/iterator page at 16,384 rows. Pages are the cost driver in Milvus Lite
# (each one re-scans the growing segments), so use nearly the whole cap.
ITERATOR_BATCH = 16_000
# A sync reads what it just wrote (fingerprints, counts, the skip check), so every read waits for
# every write before it. Milvus Lite always behaves so; a Milvus server defaults to "Bounded",
# which returned 0 rows right after an upsert when the adapter was first run against one.
CONSISTENCY = "Strong"
# Milvus's search limit (topk) is 16,384.
REGION_FALLBACK_CANDIDATES = 16_384
MODEL_ID_PROPERTY = "aegis.embedding_model_id"
DIM_PROPERTY = "aegis.embedding_dim"
MAX_MODEL_ID_LENGTH = 256
MAX_REGION_CODES_LENGTH = 4_096
_REGION_CODE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
FILTER_KEYS = frozenset({"status", "region_code"})
# Bump when passage_text() changes what gets embedded: every vector goes stale.
PASSAGE_VERSION = 1


def passage_text(doc: PolicyDocument) -> str:
    """What gets embedded: title and summary, the text a person would judge relevance by."""
    return f"{doc.title}\n{doc.summary}" if doc.summary else doc.title


def region_codes_field(codes: Sequence[str]) -> str:
    """Region codes as one delimited string (``",11,26,"``) so ``like "%,11,%"`` filters exactly."""
    return f",{','.join(codes)}," if codes else ""


def _literal(value: str) -> str:
    # JSON string syntax is what Milvus's expression parser accepts for string literals.
    return json.dumps(value, ensure_ascii=False)


def filter_expression(filter: Mapping[str, str] | None) -> str:
    """Build a Milvus boolean expression from a structured filter, escaping every value."""
    if not filter:
        return ""
    unknown = set(filter) - FILTER_KEYS
    if unknown:
        raise ValidationError(
            "VALID_3001",
            f"unknown vector filter keys: {sorted(unknown)}",
            details={"allowed": sorted(FILTER_KEYS)},
        )
    clauses: list[str] = []
    if "status" in filter:
        clauses.append(f"status == {_literal(str(filter['status']))}")
    if "region_code" in filter:
        code = str(filter["region_code"])
        if not _REGION_CODE.match(code):
            raise ValidationError(
                "VALID_3003", "region_code filter must be a plain code", details={"region_code": code[:40]}
            )
        clauses.append(f'region_codes like "%,{code},%"')
    return " and ".join(clauses)


class MilvusVectorStore:
    """Policy embeddings in ``settings.milvus_collection`` (COSINE over normalised vectors)."""

    name = "vectors"
    write_batch_size = BATCH_SIZE

    def __init__(
        self, uri: str, collection: str, embedder: Embedder, *, token: str = "", timeout: float = 10.0
    ) -> None:
        self.backend = "milvus" if uri.startswith(("http://", "https://", "tcp://")) else "milvus-lite"
        self.collection = collection
        self.embedder = embedder
        self._checked = False
        with backend_errors(self.name, self.backend, "connect"):
            from pymilvus import MilvusClient

            if self.backend == "milvus-lite":
                Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self._client = MilvusClient(uri=uri, token=token, timeout=timeout)

    @property
    def raw(self) -> Any:
        """The ``pymilvus.MilvusClient``."""
        return self._client

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    @property
    def derivation(self) -> str:
        return f"passage/{PASSAGE_VERSION};model/{self.model_id};dim/{self.embedder.dim}"

    # -- schema ---------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        with backend_errors(self.name, self.backend, "ensure_schema"):
            if not self._client.has_collection(self.collection):
                self._create_collection()
            else:
                self._check_model()
                self._client.load_collection(self.collection)
        self._checked = True

    def _create_collection(self) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("policy_id", DataType.VARCHAR, is_primary=True, max_length=MAX_POLICY_ID_LENGTH)
        schema.add_field("content_hash", DataType.VARCHAR, max_length=MAX_CONTENT_HASH_LENGTH)
        schema.add_field("model_id", DataType.VARCHAR, max_length=MAX_MODEL_ID_LENGTH)
        schema.add_field("status", DataType.VARCHAR, max_length=32)
        schema.add_field("region_codes", DataType.VARCHAR, max_length=MAX_REGION_CODES_LENGTH)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.embedder.dim)
        index = self._client.prepare_index_params()
        index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
        self._client.create_collection(
            self.collection,
            schema=schema,
            index_params=index,
            consistency_level=CONSISTENCY,
            properties={MODEL_ID_PROPERTY: self.model_id, DIM_PROPERTY: str(self.embedder.dim)},
        )

    def _check_model(self) -> None:
        """Refuse a collection built with another model or dimension (DP_3005)."""
        info = self._client.describe_collection(self.collection)
        props = info.get("properties") or {}
        stored_model = props.get(MODEL_ID_PROPERTY)
        dims = [f.get("params", {}).get("dim") for f in info.get("fields", []) if f.get("name") == "vector"]
        stored_dim = int(dims[0]) if dims and dims[0] is not None else None
        if stored_model is None:
            # A collection created outside this adapter: judge by what its rows carry.
            rows = self._client.query(
                self.collection, filter="", output_fields=["model_id"], limit=1, consistency_level=CONSISTENCY
            )
            stored_model = rows[0]["model_id"] if rows else None
        if (stored_model is not None and stored_model != self.model_id) or (
            stored_dim is not None and stored_dim != self.embedder.dim
        ):
            raise PipelineError(
                "DP_3005",
                f"collection {self.collection!r} holds vectors of model {stored_model!r} (dim {stored_dim}); "
                f"refusing to mix in {self.model_id!r} (dim {self.embedder.dim})",
                details={
                    "collection": self.collection,
                    "stored_model": stored_model,
                    "stored_dim": stored_dim,
                    "model": self.model_id,
                    "dim": self.embedder.dim,
                },
            )

    def _ready(self) -> None:
        if not self._checked:
            self.ensure_schema()

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, docs: Sequence[PolicyDocument]) -> int:
        """Embed and write; documents already stored with the same hash and model are skipped."""
        unique = unique_by_id(docs)
        self._ready()
        for batch in chunks(unique, BATCH_SIZE):
            changed = self._changed(batch)
            if changed:
                vectors = self.embedder.embed_passages([passage_text(doc) for doc in changed])
                self._write(changed, vectors)
        return len(unique)

    def upsert_vectors(self, docs: Sequence[PolicyDocument], vectors: Vectors) -> int:
        """Write documents with vectors already computed by this store's embedder (no skip check)."""
        if isinstance(docs, PolicyDocument):
            raise ValidationError("VALID_3001", "upsert_vectors takes a sequence of documents")
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape != (len(docs), self.embedder.dim):
            raise ValidationError(
                "VALID_3001",
                "vectors must be a (len(docs), dim) matrix",
                details={"shape": list(matrix.shape), "docs": len(docs), "dim": self.embedder.dim},
            )
        unique_by_id(docs)  # validates every item is a PolicyDocument
        # Keep the last occurrence of each id together with its own vector.
        last = {doc.policy_id: index for index, doc in enumerate(docs)}
        order = sorted(last.values())
        self._ready()
        for batch in chunks(order, BATCH_SIZE):
            self._write([docs[i] for i in batch], matrix[list(batch)])
        return len(order)

    def _changed(self, batch: Sequence[PolicyDocument]) -> list[PolicyDocument]:
        ids = [doc.policy_id for doc in batch]
        with backend_errors(self.name, self.backend, "upsert"):
            stored = self._client.query(
                self.collection,
                filter=f"policy_id in {json.dumps(ids, ensure_ascii=False)}",
                output_fields=["content_hash", "model_id"],
                consistency_level=CONSISTENCY,
            )
        current = {row["policy_id"]: (row["content_hash"], row["model_id"]) for row in stored}
        return [doc for doc in batch if current.get(doc.policy_id) != (doc.content_hash, self.model_id)]

    def _write(self, batch: Sequence[PolicyDocument], vectors: Vectors) -> None:
        rows = []
        for doc, vector in zip(batch, vectors, strict=True):
            regions = region_codes_field(doc.region_codes)
            if len(regions) > MAX_REGION_CODES_LENGTH or len(doc.status) > 32:
                raise ValidationError(
                    "VALID_3004",
                    "region_codes or status too long for the vector store",
                    details={"policy_id": doc.policy_id},
                )
            rows.append(
                {
                    "policy_id": doc.policy_id,
                    "content_hash": doc.content_hash,
                    "model_id": self.model_id,
                    "status": doc.status,
                    "region_codes": regions,
                    "vector": vector,
                }
            )
        with backend_errors(self.name, self.backend, "upsert"):
            self._client.upsert(self.collection, rows)

    def delete(self, policy_ids: Sequence[str]) -> int:
        ids = validate_ids(policy_ids)
        self._ready()
        removed = 0
        for batch in chunks(ids, BATCH_SIZE):
            with backend_errors(self.name, self.backend, "delete"):
                literal = json.dumps(list(batch), ensure_ascii=False)
                present = self._client.query(
                    self.collection,
                    filter=f"policy_id in {literal}",
                    output_fields=["policy_id"],
                    consistency_level=CONSISTENCY,
                )
                if present:
                    self._client.delete(self.collection, ids=[row["policy_id"] for row in present])
            removed += len(present)
        return removed

    # -- reads ----------------------------------------------------------------------------

    def fingerprints(self) -> dict[str, str]:
        self._ready()
        result: dict[str, str] = {}
        with backend_errors(self.name, self.backend, "fingerprints"):
            iterator = self._client.query_iterator(
                self.collection,
                batch_size=ITERATOR_BATCH,
                filter="",
                output_fields=["content_hash"],
                consistency_level=CONSISTENCY,
            )
            try:
                while page := iterator.next():
                    for row in page:
                        result[row["policy_id"]] = row["content_hash"]
            finally:
                iterator.close()
        return result

    def count(self) -> int:
        self._ready()
        with backend_errors(self.name, self.backend, "count"):
            rows = self._client.query(
                self.collection, filter="", output_fields=["count(*)"], consistency_level=CONSISTENCY
            )
        return int(rows[0]["count(*)"]) if rows else 0

    def search(
        self, text: str, k: int = 10, filter: Mapping[str, str] | None = None
    ) -> list[tuple[str, float]]:
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("VALID_3001", "search text must be a non-empty string")
        expression = filter_expression(filter)
        self._ready()
        query = self.embedder.embed_query(text).tolist()
        region = (filter or {}).get("region_code")
        with backend_errors(self.name, self.backend, "search"):
            try:
                hits = self._search(query, int(k), expression)
            except Exception as exc:
                # Milvus servers before 2.4 match only prefix patterns ("ab%"), not the infix
                # pattern the region filter needs: filter the region here over a wider candidate set.
                if region is None or "unsupported pattern" not in str(exc):
                    raise
                others = {key: v for key, v in (filter or {}).items() if key != "region_code"}
                rest = filter_expression(others)
                limit = min(REGION_FALLBACK_CANDIDATES, max(int(k) * 50, 1_000))
                candidates = self._search(query, limit, rest)
                wanted = f",{region},"
                hits = [hit for hit in candidates if wanted in hit["entity"]["region_codes"]][: int(k)]
        # pymilvus names the hit's key after the primary field in 3.x ("id" in 2.x): read it
        # from the requested output field, which is stable across versions.
        return [(str(hit["entity"]["policy_id"]), float(hit["distance"])) for hit in hits]

    def _search(self, query: list[float], limit: int, expression: str) -> list[Any]:
        hits = self._client.search(
            self.collection,
            data=[query],
            limit=limit,
            filter=expression,
            output_fields=["policy_id", "region_codes"],
            search_params={"metric_type": "COSINE"},
            consistency_level=CONSISTENCY,
        )
        return list(hits[0]) if hits else []

    def ping(self) -> None:
        with backend_errors(self.name, self.backend, "ping"):
            self._client.list_collections()

    def close(self) -> None:
        with backend_errors(self.name, self.backend, "close"):
            self._client.close()

    def drop(self) -> None:
        """Drop the collection (rebuilds after an embedding model change)."""
        with backend_errors(self.name, self.backend, "drop"):
            self._client.drop_collection(self.collection)
        self._checked = False
