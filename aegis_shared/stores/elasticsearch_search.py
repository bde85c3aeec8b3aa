"""Production search adapter: Elasticsearch with the ``nori`` Korean analyzer.

A thin client over :class:`SearchServerStore`: every request body (the index body with its nori
analysis, bulk actions, the fingerprint scan, the query) comes from :mod:`search_requests`, the
same module the OpenSearch adapter runs against the local stack's real server. Only the calls
that differ between the two Python clients live here: elasticsearch-py 8/9 takes ``settings=``,
``mappings=`` and the query's parts as keyword arguments instead of a ``body``.
"""

from __future__ import annotations

from typing import Any

from aegis_shared.stores import search_requests
from aegis_shared.stores.search_server import SearchServerStore

INDEX_SETTINGS: dict[str, Any] = search_requests.index_settings("elasticsearch")
INDEX_MAPPINGS: dict[str, Any] = search_requests.INDEX_MAPPINGS


class ElasticsearchSearchStore(SearchServerStore):
    """Search store on an Elasticsearch index (``settings.search_index``)."""

    backend = "elasticsearch"
    flavor = "elasticsearch"

    def __init__(
        self, url: str, index: str, *, api_key: str = "", request_timeout: float = 30.0, max_retries: int = 3
    ) -> None:
        from elasticsearch import Elasticsearch, helpers

        client = Elasticsearch(
            url,
            api_key=api_key or None,
            request_timeout=request_timeout,
            max_retries=max_retries,
            retry_on_timeout=True,
        )
        super().__init__(client, helpers, index)

    def _create_index(self, body: dict[str, Any]) -> None:
        self._client.indices.create(index=self.index, settings=body["settings"], mappings=body["mappings"])

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(
            self._client.search(
                index=self.index, size=body["size"], source=body["_source"], query=body["query"]
            )
        )
