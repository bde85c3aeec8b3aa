"""A search store on a search server; the logic shared by the Elasticsearch and OpenSearch clients.

Request bodies come from :mod:`search_requests`; this class runs them through the bulk, scan,
count and search calls both Python clients share (``helpers.bulk``, ``helpers.streaming_bulk``,
``helpers.scan`` have the same signatures in ``elasticsearch`` and ``opensearch-py``). A subclass
supplies only its client, its ``helpers`` module, how it creates an index and how it searches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from aegis_shared.errors import ValidationError
from aegis_shared.stores import search_requests as requests
from aegis_shared.stores.base import PolicyDocument, unique_by_id, validate_ids
from aegis_shared.stores.batching import chunks
from aegis_shared.stores.failures import backend_errors


class SearchServerStore(ABC):
    """Search store on one index of a search server."""

    name = "search"
    backend: str  # set per subclass; an instance attribute to the SearchStore protocol
    flavor: ClassVar[requests.Flavor]
    # One index refresh per upsert call; bulk requests are chunked inside.
    write_batch_size = 5_000

    def __init__(self, client: Any, helpers: Any, index: str) -> None:
        self.index = index
        self._client = client
        self._helpers = helpers

    @property
    def derivation(self) -> str:
        return requests.derivation(self.flavor)

    @property
    def raw(self) -> Any:
        """The server's Python client."""
        return self._client

    @abstractmethod
    def _create_index(self, body: dict[str, Any]) -> None: ...

    @abstractmethod
    def _search(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def ensure_schema(self) -> None:
        with backend_errors(self.name, self.backend, "ensure_schema"):
            if not self._client.indices.exists(index=self.index):
                self._create_index(requests.index_body(self.flavor))

    def upsert(self, docs: Sequence[PolicyDocument]) -> int:
        unique = unique_by_id(docs)
        for batch in chunks(unique, requests.BATCH_SIZE):
            with backend_errors(self.name, self.backend, "upsert"):
                self._helpers.bulk(
                    self._client,
                    requests.index_actions(self.index, batch),
                    refresh=False,
                    raise_on_error=True,
                )
        if unique:
            self._refresh()
        return len(unique)

    def delete(self, policy_ids: Sequence[str]) -> int:
        ids = validate_ids(policy_ids)
        removed = 0
        for batch in chunks(ids, requests.BATCH_SIZE):
            with backend_errors(self.name, self.backend, "delete"):
                results = self._helpers.streaming_bulk(
                    self._client, requests.delete_actions(self.index, batch), raise_on_error=False
                )
                removed += sum(requests.deleted(ok, item) for ok, item in results)
        if ids:
            self._refresh()
        return removed

    def _refresh(self) -> None:
        with backend_errors(self.name, self.backend, "refresh"):
            self._client.indices.refresh(index=self.index)

    def fingerprints(self) -> dict[str, str]:
        with backend_errors(self.name, self.backend, "fingerprints"):
            scan = self._helpers.scan(
                self._client, index=self.index, size=requests.SCAN_PAGE, query=requests.FINGERPRINT_SCAN
            )
            return {hit["_id"]: hit["_source"]["content_hash"] for hit in scan}

    def count(self) -> int:
        with backend_errors(self.name, self.backend, "count"):
            return int(self._client.count(index=self.index)["count"])

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        if not isinstance(query, str):
            raise ValidationError("VALID_3001", "search query must be a string")
        if not query.strip():
            return []
        with backend_errors(self.name, self.backend, "search"):
            return requests.hits(self._search(requests.search_body(query, k)))

    def ping(self) -> None:
        with backend_errors(self.name, self.backend, "ping"):
            self._client.info()

    def close(self) -> None:
        with backend_errors(self.name, self.backend, "close"):
            self._client.close()
