"""A pooled Redis client for caching that degrades instead of failing.

When Redis errors, the operation returns "nothing cached" and the caller simply computes the
value, so a cache outage slows requests down but never fails them. The outage is logged once,
and for ``retry_interval`` seconds afterwards Redis is not even tried, so requests do not each
wait for a connect timeout. Recovery is logged once too.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import redis
import redis.asyncio as aioredis
import structlog

from aegis_shared.cache.keys import DEFAULT_PREFIX
from aegis_shared.cache.stats import CacheStats

logger = structlog.get_logger(__name__)

T = TypeVar("T")

# Deletes the lock only if we still own it, so a slow holder never frees someone else's lock.
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_SCAN_BATCH = 500


class RedisCache:
    """Byte-level cache operations on one Redis, sync and async, sharing one outage state."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "redis",
        prefix: str = DEFAULT_PREFIX,
        max_connections: int = 32,
        socket_timeout: float = 0.5,
        retry_interval: float = 5.0,
    ) -> None:
        self.name = name
        self.prefix = prefix
        self.stats = CacheStats(name)
        self.retry_interval = retry_interval
        self._options: dict[str, Any] = {
            "max_connections": max_connections,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
        }
        self._url = url
        self._pool = redis.ConnectionPool.from_url(url, **self._options)
        self.client = redis.Redis(connection_pool=self._pool)
        # redis.asyncio connections belong to the event loop that opened them.
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._state_lock = threading.Lock()
        self._down_until = 0.0
        self._outage = False

    @classmethod
    def from_settings(cls, settings: Any = None, **kwargs: Any) -> RedisCache:
        from aegis_shared.config import get_settings

        settings = settings or get_settings()
        return cls(settings.redis_url.get_secret_value(), **kwargs)

    def __repr__(self) -> str:
        # The URL may carry a password: never print it.
        return f"RedisCache(name={self.name!r}, prefix={self.prefix!r})"

    @property
    def async_client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(self._url, **self._options)
            self._async_clients[loop] = client
        return client

    # -- outage bookkeeping --------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        self.stats.record("error")
        with self._state_lock:
            self._down_until = time.monotonic() + self.retry_interval
            first = not self._outage
            self._outage = True
        if first:
            # The exception text carries host and port only; the URL (and password) is not logged.
            logger.warning(
                "cache_unavailable_degrading",
                cache=self.name,
                operation=operation,
                error=type(exc).__name__,
                retry_in_seconds=self.retry_interval,
            )

    def _succeeded(self) -> None:
        if self._outage:
            with self._state_lock:
                recovered, self._outage = self._outage, False
            if recovered:
                logger.info("cache_recovered", cache=self.name)

    def _run(self, operation: str, fn: Callable[[], T], fallback: T) -> T:
        if not self.available:
            return fallback
        try:
            result = fn()
        except redis.RedisError as exc:
            self._failed(operation, exc)
            return fallback
        self._succeeded()
        return result

    async def _arun(self, operation: str, fn: Callable[[], Awaitable[T]], fallback: T) -> T:
        if not self.available:
            return fallback
        try:
            result = await fn()
        except (redis.RedisError, OSError) as exc:
            self._failed(operation, exc)
            return fallback
        self._succeeded()
        return result

    # -- sync operations -----------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        # Clients are built without decode_responses, so values come back as bytes.
        return self._run("get", lambda: cast("bytes | None", self.client.get(key)), None)

    def set(self, key: str, value: bytes, ttl_ms: int) -> bool:
        return self._run("set", lambda: bool(self.client.set(key, value, px=max(ttl_ms, 1))), False)

    def delete(self, *keys: str) -> int:
        return int(self._run("delete", lambda: self.client.unlink(*keys), 0)) if keys else 0

    def invalidate_pattern(self, pattern: str) -> int:
        """Remove every key matching the glob ``pattern``, walking with SCAN (never KEYS)."""

        def work() -> int:
            removed, batch = 0, []
            for key in self.client.scan_iter(match=pattern, count=_SCAN_BATCH):
                batch.append(key)
                if len(batch) >= _SCAN_BATCH:
                    removed += self.client.unlink(*batch)
                    batch = []
            if batch:
                removed += self.client.unlink(*batch)
            return removed

        return self._run("invalidate_pattern", work, 0)

    def try_lock(self, key: str, ttl_ms: int) -> str | None:
        """Take the computation lock for ``key``: a token, ``None`` if held, ``""`` if Redis is down."""
        token = uuid.uuid4().hex
        down: bool | str | None = ""  # what _run answers when Redis is unreachable
        taken = self._run(
            "lock", lambda: cast("bool | None", self.client.set(key, token, nx=True, px=ttl_ms)), down
        )
        if taken == "":
            return ""
        return token if taken else None

    def unlock(self, key: str, token: str) -> None:
        if token:
            self._run("unlock", lambda: self.client.eval(_UNLOCK, 1, key, token), 0)

    def ping(self) -> bool:
        """A health probe: raises on failure rather than degrading."""
        return bool(self.client.ping())

    # -- async operations ----------------------------------------------------------------------

    async def aget(self, key: str) -> bytes | None:
        return await self._arun(
            "get", lambda: cast("Awaitable[bytes | None]", self.async_client.get(key)), None
        )

    async def aset(self, key: str, value: bytes, ttl_ms: int) -> bool:
        return bool(
            await self._arun("set", lambda: self.async_client.set(key, value, px=max(ttl_ms, 1)), False)
        )

    async def adelete(self, *keys: str) -> int:
        return int(await self._arun("delete", lambda: self.async_client.unlink(*keys), 0)) if keys else 0

    async def ainvalidate_pattern(self, pattern: str) -> int:
        async def work() -> int:
            client = self.async_client
            removed, batch = 0, []
            async for key in client.scan_iter(match=pattern, count=_SCAN_BATCH):
                batch.append(key)
                if len(batch) >= _SCAN_BATCH:
                    removed += await client.unlink(*batch)
                    batch = []
            if batch:
                removed += await client.unlink(*batch)
            return removed

        return await self._arun("invalidate_pattern", work, 0)

    async def atry_lock(self, key: str, ttl_ms: int) -> str | None:
        token = uuid.uuid4().hex
        taken: bool | str | None = await self._arun(
            "lock",
            lambda: cast("Awaitable[bool | None]", self.async_client.set(key, token, nx=True, px=ttl_ms)),
            "",
        )
        if taken == "":
            return ""
        return token if taken else None

    async def aunlock(self, key: str, token: str) -> None:
        if token:
            await self._arun("unlock", lambda: self.async_client.eval(_UNLOCK, 1, key, token), 0)

    async def aping(self) -> bool:
        return bool(await self.async_client.ping())

    def close(self) -> None:
        self._pool.disconnect()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()
