"""Redis (the devstack's redis-server locally) as a Dagster resource."""

from __future__ import annotations

import dagster as dg
import redis
from pydantic import Field, SecretStr

from aegis_orchestration.resources._settings import resolve


class RedisResource(dg.ConfigurableResource):
    url: str | None = Field(None, description="Overrides AEGIS_REDIS_URL.")

    def client(self) -> redis.Redis:
        url = resolve({"redis_url": SecretStr(self.url) if self.url else None}).redis_url
        return redis.Redis.from_url(url.get_secret_value(), socket_timeout=5)
