"""Search adapter for OpenSearch (``opensearch-py``): the local stack's default search store.

A thin client over :class:`SearchServerStore`; the request bodies, including the n-gram Korean
analysis OpenSearch's own modules provide, come from :mod:`search_requests`.
"""

from __future__ import annotations

from typing import Any

from aegis_shared.stores.search_server import SearchServerStore


class OpenSearchSearchStore(SearchServerStore):
    """Search store on an OpenSearch index (``settings.opensearch_url``, ``settings.search_index``)."""

    backend = "opensearch"
    flavor = "opensearch"

    def __init__(
        self,
        url: str,
        index: str,
        *,
        username: str = "",
        password: str = "",
        request_timeout: float = 30.0,
        max_retries: int = 3,
    ) -> None:
        from opensearchpy import OpenSearch, helpers

        client = OpenSearch(
            hosts=[url],
            http_auth=(username, password) if username else None,
            timeout=request_timeout,
            max_retries=max_retries,
            retry_on_timeout=True,
        )
        super().__init__(client, helpers, index)

    def _create_index(self, body: dict[str, Any]) -> None:
        self._client.indices.create(index=self.index, body=body)

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._client.search(index=self.index, body=body))
