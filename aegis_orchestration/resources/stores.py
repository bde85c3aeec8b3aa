"""The three serving stores as Dagster resources; the adapter is chosen by settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import dagster as dg
from pydantic import Field

from aegis_orchestration.resources._settings import resolve

if TYPE_CHECKING:
    from aegis_shared.stores import GraphStore, SearchStore, VectorStore
    from aegis_shared.stores.base import PolicyStore


@runtime_checkable
class StoreOpener(Protocol):
    """What the store assets need of a store resource: a connected store, closed by the caller."""

    def open(self) -> PolicyStore: ...


class VectorStoreResource(dg.ConfigurableResource):
    """Milvus (server URI) or Milvus Lite (local .db path), with the configured embedder."""

    uri: str | None = Field(None, description="Overrides AEGIS_MILVUS_URI.")
    collection: str | None = Field(None, description="Overrides AEGIS_MILVUS_COLLECTION.")

    def open(self) -> VectorStore:
        from aegis_shared.stores import open_vector_store

        return open_vector_store(resolve({"milvus_uri": self.uri, "milvus_collection": self.collection}))


class GraphStoreResource(dg.ConfigurableResource):
    """Neo4j when AEGIS_NEO4J_URI is set, otherwise FalkorDB over its Redis protocol."""

    url: str | None = Field(None, description="Overrides AEGIS_GRAPH_URL (FalkorDB).")
    graph_name: str | None = Field(None, description="Overrides AEGIS_GRAPH_NAME.")

    def open(self) -> GraphStore:
        from pydantic import SecretStr

        from aegis_shared.stores import open_graph_store

        return open_graph_store(
            resolve({"graph_url": SecretStr(self.url) if self.url else None, "graph_name": self.graph_name})
        )


class SearchStoreResource(dg.ConfigurableResource):
    """Elasticsearch (AEGIS_ELASTICSEARCH_URL), OpenSearch (AEGIS_OPENSEARCH_URL) or tantivy."""

    index: str | None = Field(None, description="Overrides AEGIS_SEARCH_INDEX (Elasticsearch, OpenSearch).")
    path: str | None = Field(None, description="Overrides AEGIS_SEARCH_PATH (tantivy).")

    def open(self) -> SearchStore:
        from pathlib import Path

        from aegis_shared.stores import open_search_store

        return open_search_store(
            resolve({"search_index": self.index, "search_path": Path(self.path) if self.path else None})
        )
