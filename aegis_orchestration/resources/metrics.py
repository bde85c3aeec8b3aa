"""The pipeline metrics as a Dagster resource: a thin adapter over ``aegis_shared.monitoring``.

An asset opens ``with metrics.run() as m:`` and records into ``m``; on leaving the block, whether
the step succeeded or raised, what it recorded is pushed (see
:mod:`aegis_shared.monitoring.pipeline_metrics` for why through Redis). Without a Pushgateway URL
nothing is pushed and nothing else happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pydantic import Field, SecretStr

from aegis_orchestration.resources._settings import resolve
from aegis_shared.monitoring.pipeline_metrics import BatchMetrics, push_batch


class MetricsResource(dg.ConfigurableResource):
    pushgateway_url: str | None = Field(None, description="Overrides AEGIS_PUSHGATEWAY_URL.")
    redis_url: str | None = Field(None, description="Overrides AEGIS_REDIS_URL (where the totals add up).")

    def pushes(self) -> bool:
        return bool(resolve({"pushgateway_url": self.pushgateway_url}).pushgateway_url)

    @contextmanager
    def run(self) -> Iterator[BatchMetrics]:
        recorded = BatchMetrics()
        try:
            yield recorded
        finally:
            self.push(recorded)

    def push(self, recorded: BatchMetrics) -> bool:
        settings = resolve(
            {
                "pushgateway_url": self.pushgateway_url,
                "redis_url": SecretStr(self.redis_url) if self.redis_url else None,
            }
        )
        if not settings.pushgateway_url or not recorded.ops:
            return False
        import redis

        client = redis.Redis.from_url(settings.redis_url.get_secret_value(), socket_timeout=5)
        try:
            return push_batch(recorded, pushgateway_url=settings.pushgateway_url, redis_client=client)
        finally:
            client.close()
