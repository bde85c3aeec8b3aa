"""Production search adapter: Elasticsearch with the ``nori`` Korean analyzer.

Indexes the same fields as the tantivy adapter (:mod:`search_documents`). Text fields use a
custom analyzer on ``nori_tokenizer`` (the analysis-nori plugin) with a ``keyword`` subfield;
ids and hashes are ``keyword``. Writes go through ``helpers.bulk`` with the policy id as ``_id``
(so re-upserting overwrites), and the fingerprint scan is ``helpers.scan`` over ``_source``
``content_hash`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aegis_shared.errors import ValidationError
from aegis_shared.stores.base import PolicyDocument, unique_by_id, validate_ids
from aegis_shared.stores.batching import chunks
from aegis_shared.stores.failures import backend_errors
from aegis_shared.stores.search_documents import KEYWORD_FIELDS, TEXT_FIELDS, search_derivation, search_fields

BATCH_SIZE = 1_000

INDEX_SETTINGS: dict[str, Any] = {
    "analysis": {
        "tokenizer": {"ko_nori": {"type": "nori_tokenizer", "decompound_mode": "mixed"}},
        "analyzer": {
            "ko": {"type": "custom", "tokenizer": "ko_nori", "filter": ["lowercase", "nori_readingform"]}
        },
    }
}

INDEX_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        **{name: {"type": "keyword"} for name in KEYWORD_FIELDS},
        **{
            name: {"type": "text", "analyzer": "ko",
                   "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}}
            for name in TEXT_FIELDS
        },
    },
}


class ElasticsearchSearchStore:
    """Search store on an Elasticsearch index (``settings.search_index``)."""

    name = "search"
    backend = "elasticsearch"
    # One index refresh per upsert call; bulk requests are chunked inside.
    write_batch_size = 5_000
    derivation = search_derivation("elasticsearch", {"settings": INDEX_SETTINGS, "mappings": INDEX_MAPPINGS})

    def __init__(self, url: str, index: str, *, api_key: str = "", request_timeout: float = 30.0,
                 max_retries: int = 3) -> None:
        from elasticsearch import Elasticsearch

        self.index = index
        self._client = Elasticsearch(url, api_key=api_key or None, request_timeout=request_timeout,
                                     max_retries=max_retries, retry_on_timeout=True)

    @property
    def raw(self) -> Any:
        """The ``elasticsearch.Elasticsearch`` client."""
        return self._client

    def ensure_schema(self) -> None:
        with backend_errors(self.name, self.backend, "ensure_schema"):
            if not self._client.indices.exists(index=self.index):
                self._client.indices.create(
                    index=self.index, settings=INDEX_SETTINGS, mappings=INDEX_MAPPINGS
                )

    def upsert(self, docs: Sequence[PolicyDocument]) -> int:
        from elasticsearch import helpers

        unique = unique_by_id(docs)
        for batch in chunks(unique, BATCH_SIZE):
            actions = [{"_op_type": "index", "_index": self.index, "_id": doc.policy_id,
                        "_source": search_fields(doc)} for doc in batch]
            with backend_errors(self.name, self.backend, "upsert"):
                helpers.bulk(self._client, actions, refresh=False, raise_on_error=True)
        if unique:
            with backend_errors(self.name, self.backend, "refresh"):
                self._client.indices.refresh(index=self.index)
        return len(unique)

    def delete(self, policy_ids: Sequence[str]) -> int:
        from elasticsearch import helpers

        ids = validate_ids(policy_ids)
        removed = 0
        for batch in chunks(ids, BATCH_SIZE):
            actions = [{"_op_type": "delete", "_index": self.index, "_id": policy_id} for policy_id in batch]
            with backend_errors(self.name, self.backend, "delete"):
                # Deleting an absent id answers 404: expected, counted as "not present".
                for ok, item in helpers.streaming_bulk(self._client, actions, raise_on_error=False):
                    result = item.get("delete", {})
                    if ok and result.get("result") == "deleted":
                        removed += 1
                    elif result.get("status") != 404:
                        raise RuntimeError(f"bulk delete failed: {result}")
        if ids:
            with backend_errors(self.name, self.backend, "refresh"):
                self._client.indices.refresh(index=self.index)
        return removed

    def fingerprints(self) -> dict[str, str]:
        from elasticsearch import helpers

        with backend_errors(self.name, self.backend, "fingerprints"):
            return {
                hit["_id"]: hit["_source"]["content_hash"]
                for hit in helpers.scan(
                    self._client, index=self.index, size=5_000,
                    query={"query": {"match_all": {}}, "_source": ["content_hash"]},
                )
            }

    def count(self) -> int:
        with backend_errors(self.name, self.backend, "count"):
            return int(self._client.count(index=self.index)["count"])

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        if not isinstance(query, str):
            raise ValidationError("VALID_3001", "search query must be a string")
        if not query.strip():
            return []
        fields = [f"{name}^{boost}" for name, boost in TEXT_FIELDS.items()]
        with backend_errors(self.name, self.backend, "search"):
            response = self._client.search(
                index=self.index, size=int(k), source=False,
                query={"multi_match": {"query": query, "fields": fields}},
            )
        return [(hit["_id"], float(hit["_score"])) for hit in response["hits"]["hits"]]

    def ping(self) -> None:
        with backend_errors(self.name, self.backend, "ping"):
            self._client.info()

    def close(self) -> None:
        with backend_errors(self.name, self.backend, "close"):
            self._client.close()
