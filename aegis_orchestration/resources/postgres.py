"""PostgreSQL, the source of truth, as a Dagster resource."""

from __future__ import annotations

from functools import cache

import dagster as dg
import sqlalchemy as sa
from pydantic import Field, SecretStr

from aegis_orchestration.resources._settings import resolve


@cache
def _engine(url: str) -> sa.Engine:
    from aegis_shared.database import apply_registry

    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    # Tables come from the YAML schema registry; applying it is idempotent.
    apply_registry(engine)
    return engine


class PostgresResource(dg.ConfigurableResource):
    """SQLAlchemy engine on the Aegis database; tables are created from ``schemas/db`` on first use."""

    url: str | None = Field(None, description="Overrides AEGIS_POSTGRES_URL (use an EnvVar for secrets).")

    def engine(self) -> sa.Engine:
        url = resolve({"postgres_url": SecretStr(self.url) if self.url else None}).postgres_url
        return _engine(url.get_secret_value())
