"""The serving stores (vectors, graph, search): one interface each, adapter chosen by settings.

Calling code opens a store with a factory and uses only the :mod:`base` protocols::

    store = open_graph_store(settings)      # FalkorDB here, Neo4j where AEGIS_NEO4J_URI is set
    store.ensure_schema()
    store.upsert(docs)
    drift = store.fingerprints()

What a store keeps per policy is ``store_fingerprint(content_hash, store.derivation)``, so a new
embedding model, industry keyword map or search mapping shows as drift like changed content.

Backend failures surface as ``ExternalServiceError`` EXT_5009 (vectors), EXT_5008 (graph) or
EXT_5007 (search), with the original exception chained.
"""

from __future__ import annotations

from aegis_shared._extras import require_extra

# Before the imports it guards: without the extra, the error names the pip install line.
require_extra("stores", "aegis_shared.stores (vector, graph and search stores)")

from aegis_shared.config import Settings
from aegis_shared.embeddings import Embedder, open_embedder
from aegis_shared.stores.base import (
    GraphStore,
    PolicyDocument,
    PolicyStore,
    SearchStore,
    VectorStore,
    store_fingerprint,
)
from aegis_shared.stores.cypher_graph import CypherGraphStore
from aegis_shared.stores.elasticsearch_search import ElasticsearchSearchStore
from aegis_shared.stores.failures import STORE_ERROR_CODES
from aegis_shared.stores.falkordb_graph import FalkorDBGraphStore
from aegis_shared.stores.industries import IndustryClassifier
from aegis_shared.stores.milvus_vectors import MilvusVectorStore
from aegis_shared.stores.neo4j_graph import Neo4jGraphStore
from aegis_shared.stores.opensearch_search import OpenSearchSearchStore
from aegis_shared.stores.tantivy_search import TantivySearchStore


def open_vector_store(settings: Settings, embedder: Embedder | None = None) -> VectorStore:
    """Milvus server for an ``http(s)://`` URI, Milvus Lite for a local ``.db`` path."""
    return MilvusVectorStore(
        settings.milvus_uri,
        settings.milvus_collection,
        embedder or open_embedder(settings),
        token=settings.milvus_token.get_secret_value(),
    )


def open_graph_store(settings: Settings) -> GraphStore:
    """Neo4j when ``AEGIS_NEO4J_URI`` is set, otherwise FalkorDB at ``AEGIS_GRAPH_URL``."""
    if settings.graph_backend == "neo4j":
        return Neo4jGraphStore.from_settings(settings)
    return FalkorDBGraphStore.from_settings(settings)


def open_search_store(settings: Settings) -> SearchStore:
    """Elasticsearch when ``AEGIS_ELASTICSEARCH_URL`` is set, OpenSearch when ``AEGIS_OPENSEARCH_URL``
    is, otherwise tantivy at ``search_path``."""
    if settings.search_backend == "elasticsearch" and settings.elasticsearch_url:
        return ElasticsearchSearchStore(
            settings.elasticsearch_url,
            settings.search_index,
            api_key=settings.elasticsearch_api_key.get_secret_value(),
        )
    if settings.search_backend == "opensearch" and settings.opensearch_url:
        return OpenSearchSearchStore(
            settings.opensearch_url,
            settings.search_index,
            username=settings.opensearch_user,
            password=settings.opensearch_password.get_secret_value(),
        )
    return TantivySearchStore(settings.search_path)


__all__ = [
    "STORE_ERROR_CODES",
    "CypherGraphStore",
    "ElasticsearchSearchStore",
    "FalkorDBGraphStore",
    "GraphStore",
    "IndustryClassifier",
    "MilvusVectorStore",
    "Neo4jGraphStore",
    "OpenSearchSearchStore",
    "PolicyDocument",
    "PolicyStore",
    "SearchStore",
    "TantivySearchStore",
    "VectorStore",
    "open_graph_store",
    "open_search_store",
    "open_vector_store",
    "store_fingerprint",
]
