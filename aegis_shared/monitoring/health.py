"""Health checks: dependency probes, each with a timeout, aggregated into one status.

A probe is a sync or async callable that returns ``None``/``True`` (healthy), a
:class:`HealthStatus`, or raises. Aggregation: every probe healthy → ``healthy``; a failing
*critical* probe → ``unhealthy``; a failing non-critical probe, or any probe reporting
``degraded`` → ``degraded``. Errors are reported by type and a redacted message: probe
exceptions can quote connection URLs, and those may carry passwords.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aegis_shared.models.enums import HealthStatus

Probe = Callable[[], Any] | Callable[[], Awaitable[Any]]

_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)


def redact(text: str) -> str:
    """Strip ``user:password@`` from any URL in ``text``."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: HealthStatus
    critical: bool
    latency_ms: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status.value, "critical": self.critical,
                                "latency_ms": round(self.latency_ms, 2)}  # fmt: skip
        if self.error:
            body["error"] = self.error
        return body


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: HealthStatus
    checks: dict[str, CheckResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "checks": {n: c.to_dict() for n, c in self.checks.items()}}


@dataclass(frozen=True, slots=True)
class _Registered:
    probe: Probe
    timeout: float
    critical: bool


class HealthRegistry:
    """Named dependency probes; :meth:`check` runs them concurrently."""

    def __init__(self) -> None:
        self._probes: dict[str, _Registered] = {}

    def register(self, name: str, probe: Probe, *, timeout: float = 2.0, critical: bool = True) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._probes[name] = _Registered(probe, timeout, critical)

    def unregister(self, name: str) -> None:
        self._probes.pop(name, None)

    @property
    def names(self) -> list[str]:
        return list(self._probes)

    async def _run(self, name: str, entry: _Registered) -> CheckResult:
        started = time.perf_counter()
        try:
            if inspect.iscoroutinefunction(entry.probe):
                outcome = await asyncio.wait_for(entry.probe(), entry.timeout)
            else:
                # A blocking probe runs in a thread; on timeout we stop waiting for it.
                outcome = await asyncio.wait_for(asyncio.to_thread(entry.probe), entry.timeout)
            status = outcome if isinstance(outcome, HealthStatus) else (
                HealthStatus.UNHEALTHY if outcome is False else HealthStatus.HEALTHY
            )  # fmt: skip
            error = "probe returned False" if outcome is False else None
        except TimeoutError:
            status, error = HealthStatus.UNHEALTHY, f"timed out after {entry.timeout}s"
        except Exception as exc:
            status, error = HealthStatus.UNHEALTHY, redact(f"{type(exc).__name__}: {exc}")[:300]
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(name, status, entry.critical, latency, error)

    async def check(self) -> HealthReport:
        results = await asyncio.gather(*(self._run(n, e) for n, e in self._probes.items()))
        checks = {r.name: r for r in results}
        return HealthReport(aggregate(checks.values()), checks)

    def check_sync(self) -> HealthReport:
        return asyncio.run(self.check())


def aggregate(results: Any) -> HealthStatus:
    status = HealthStatus.HEALTHY
    for result in results:
        if result.status is HealthStatus.UNHEALTHY and result.critical:
            return HealthStatus.UNHEALTHY
        if result.status is not HealthStatus.HEALTHY:
            status = HealthStatus.DEGRADED
    return status


# -- probes for the Aegis stack ----------------------------------------------------------------


def redis_probe(url_or_client: Any, *, timeout: float = 1.0) -> Probe:
    """PING a Redis (or FalkorDB) server; accepts a URL, a redis client or a :class:`RedisCache`."""
    import redis.asyncio as aioredis

    if isinstance(url_or_client, str):
        url = url_or_client

        async def ping_url() -> None:
            client = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
            try:
                await client.ping()
            finally:
                await client.aclose()

        return ping_url
    target = url_or_client
    check: Callable[[], Any] | Callable[[], Awaitable[Any]] = (
        target.aping if hasattr(target, "aping") else target.ping
    )
    return check


def postgres_probe(engine: Any) -> Probe:
    """``SELECT 1`` through a SQLAlchemy engine."""

    def select_one() -> None:
        import sqlalchemy as sa

        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    return select_one


def kafka_probe(bootstrap: str, *, timeout: float = 2.0) -> Probe:
    """Fetch cluster metadata from the broker(s) at ``bootstrap``."""

    def list_topics() -> None:
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": int(timeout * 1000)}).list_topics(
            timeout=timeout
        )

    return list_topics
