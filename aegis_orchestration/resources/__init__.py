"""Dagster resources: thin adapters over aegis_shared, importable by other teams' jobs.

Every resource reads ``AEGIS_*`` settings by default; fields override them per deployment.
"""

from aegis_orchestration.resources.kafka import KafkaResource
from aegis_orchestration.resources.metrics import MetricsResource
from aegis_orchestration.resources.postgres import PostgresResource
from aegis_orchestration.resources.redis import RedisResource
from aegis_orchestration.resources.sources import SourcesResource
from aegis_orchestration.resources.stores import GraphStoreResource, SearchStoreResource, VectorStoreResource

__all__ = [
    "GraphStoreResource",
    "KafkaResource",
    "MetricsResource",
    "PostgresResource",
    "RedisResource",
    "SearchStoreResource",
    "SourcesResource",
    "VectorStoreResource",
    "default_resources",
]


def default_resources() -> dict[str, object]:
    """The resource set every Aegis job uses, configured from the environment."""
    resources: dict[str, object] = {
        "postgres": PostgresResource(),
        "kafka": KafkaResource(),
        "redis": RedisResource(),
        "vectors": VectorStoreResource(),
        "graph": GraphStoreResource(),
        "search": SearchStoreResource(),
        "metrics": MetricsResource(),
    }
    resources["sources"] = SourcesResource()
    return resources
