"""Health aggregation, timeouts, redaction and real probes."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from aegis_shared.models.enums import HealthStatus
from aegis_shared.monitoring import HealthRegistry, kafka_probe, postgres_probe, redact, redis_probe
from tests.aegis_shared.cache.redis_server import ThrowawayRedis


async def test_all_healthy() -> None:
    registry = HealthRegistry()
    registry.register("sync", lambda: None)
    registry.register("async", _async_ok)
    report = await registry.check()
    assert report.status is HealthStatus.HEALTHY
    assert set(report.checks) == {"sync", "async"}


async def _async_ok() -> bool:
    return True


async def test_non_critical_failure_degrades_and_critical_failure_is_unhealthy() -> None:
    registry = HealthRegistry()
    registry.register("db", lambda: None)
    registry.register("cache", _boom, critical=False)
    report = await registry.check()
    assert report.status is HealthStatus.DEGRADED
    assert report.checks["cache"].error == "ConnectionError: down"

    registry.register("db", _boom)
    assert (await registry.check()).status is HealthStatus.UNHEALTHY


def _boom() -> None:
    raise ConnectionError("down")


async def test_probe_reporting_degraded_and_false() -> None:
    registry = HealthRegistry()
    registry.register("lagging", lambda: HealthStatus.DEGRADED)
    assert (await registry.check()).status is HealthStatus.DEGRADED
    registry.register("false", lambda: False, critical=True)
    report = await registry.check()
    assert report.status is HealthStatus.UNHEALTHY
    assert report.checks["false"].error == "probe returned False"


async def test_each_probe_has_a_timeout() -> None:
    async def hangs() -> None:
        await asyncio.sleep(30)

    registry = HealthRegistry()
    registry.register("hangs", hangs, timeout=0.2, critical=False)
    registry.register("blocks", lambda: time.sleep(1), timeout=0.2, critical=False)
    report = await registry.check()
    assert report.status is HealthStatus.DEGRADED
    assert report.checks["hangs"].error == "timed out after 0.2s"
    assert report.checks["blocks"].error == "timed out after 0.2s"


async def test_errors_are_redacted() -> None:
    def leaks() -> None:
        raise RuntimeError("cannot reach redis://admin:hunter2@10.0.0.1:6379/0")

    registry = HealthRegistry()
    registry.register("leaky", leaks)
    report = await registry.check()
    assert "hunter2" not in str(report.to_dict())
    assert redact("postgresql+psycopg://u:p@h/db") == "postgresql+psycopg://***@h/db"


async def test_real_redis_probe_turns_unhealthy_when_stopped() -> None:
    server = ThrowawayRedis().start()
    try:
        registry = HealthRegistry()
        registry.register("redis", redis_probe(server.url, timeout=0.3), timeout=1)
        assert (await registry.check()).status is HealthStatus.HEALTHY
        server.stop()
        report = await registry.check()
        assert report.status is HealthStatus.UNHEALTHY
        assert report.checks["redis"].error
    finally:
        server.close()


async def test_real_postgres_and_kafka_probes(pg_engine: sa.Engine, kafka_bootstrap: str) -> None:
    registry = HealthRegistry()
    registry.register("postgres", postgres_probe(pg_engine))
    registry.register("kafka", kafka_probe(kafka_bootstrap), timeout=5)
    registry.register("nobroker", kafka_probe("127.0.0.1:1", timeout=0.5), timeout=2, critical=False)
    report = await registry.check()
    assert report.checks["postgres"].status is HealthStatus.HEALTHY
    assert report.checks["kafka"].status is HealthStatus.HEALTHY, report.checks["kafka"].error
    assert report.checks["nobroker"].status is HealthStatus.UNHEALTHY
    assert report.status is HealthStatus.DEGRADED
