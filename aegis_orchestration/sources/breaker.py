"""A per-source circuit breaker whose state is shared by every process that collects.

After ``failure_threshold`` consecutive failed fetches a source's breaker opens and calls fail
fast with EXT_5011 until ``reset_timeout`` passes; then calls are let through again (half open):
a success closes the breaker, a failure opens it again at once.

Dagster runs each partition's step in its own process, so a breaker kept in process memory
started closed in every step and never tripped: five failing partitions of one source each paid
the full retry budget. The state therefore lives in Redis (``AEGIS_REDIS_URL``, the devstack's
locally) under ``aegis:breaker:{source}``, updated atomically by Lua scripts, so failures counted
in any process open the breaker for all of them, once. When no Redis URL is configured the
state stays in process memory, as before; when Redis stops answering, a breaker degrades to its
own process's memory (logged once) rather than failing a collection over bookkeeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

import redis

from aegis_orchestration.sources.errors import SourceError
from aegis_shared.logging import get_logger

_log = get_logger(__name__)

KEY_PREFIX = "aegis:breaker:"
# An idle source's state expires after a day; every failure refreshes it.
_STATE_TTL_MS = 24 * 3600 * 1000


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def _state_of(opened_at: float | None, now: float, reset_timeout: float) -> BreakerState:
    if opened_at is None:
        return BreakerState.CLOSED
    if now - opened_at >= reset_timeout:
        return BreakerState.HALF_OPEN
    return BreakerState.OPEN


class _Store(Protocol):
    """Where one breaker keeps its consecutive failures and the time it opened."""

    def read(self) -> tuple[int, float | None]: ...
    def failure(self, now: float, threshold: int, reset_timeout: float) -> tuple[int, bool]: ...
    def success(self) -> None: ...


class _MemoryStore:
    """This process only (no Redis configured, or Redis unavailable)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failures = 0
        self.opened_at: float | None = None

    def read(self) -> tuple[int, float | None]:
        with self._lock:
            return self.failures, self.opened_at

    def failure(self, now: float, threshold: int, reset_timeout: float) -> tuple[int, bool]:
        with self._lock:
            self.failures += 1
            state = _state_of(self.opened_at, now, reset_timeout)
            tripped = state is BreakerState.HALF_OPEN or (
                state is BreakerState.CLOSED and self.failures >= threshold
            )
            if tripped:
                self.opened_at = now
            return self.failures, tripped

    def success(self) -> None:
        with self._lock:
            self.failures, self.opened_at = 0, None


# Count the failure and, if the breaker was closed and reached the threshold or was half open,
# open it now. Atomic, so concurrent failures in many processes open it exactly once.
_FAILURE = """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_at'))
local now, threshold, reset = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tripped = 0
if opened then
  if now - opened >= reset then tripped = 1 end
elseif failures >= threshold then
  tripped = 1
end
if tripped == 1 then redis.call('HSET', KEYS[1], 'opened_at', ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {failures, tripped}
"""


class _RedisStore:
    """Shared by every process using the same Redis; wall-clock times, since monotonic clocks
    are per process."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client = client
        self.key = key
        self._failure = client.register_script(_FAILURE)

    def read(self) -> tuple[int, float | None]:
        failures, opened_at = self.client.hmget(self.key, ["failures", "opened_at"])
        return int(failures or 0), (float(opened_at) if opened_at is not None else None)

    def failure(self, now: float, threshold: int, reset_timeout: float) -> tuple[int, bool]:
        failures, tripped = self._failure(
            keys=[self.key], args=[repr(now), threshold, reset_timeout, _STATE_TTL_MS]
        )
        return int(failures), bool(tripped)

    def success(self) -> None:
        self.client.delete(self.key)


class CircuitBreaker:
    """Consecutive-failure breaker for one source; thread-safe, and shared across processes
    when given a Redis client."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 60.0,
        clock: Callable[[], float] | None = None,
        redis_client: redis.Redis | None = None,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._local = _MemoryStore()
        self._shared = _RedisStore(redis_client, KEY_PREFIX + name) if redis_client is not None else None
        # Redis-held times must mean the same in every process: wall clock there.
        self._clock = clock or (time.time if self._shared is not None else time.monotonic)
        self._degraded = False

    @property
    def shared(self) -> bool:
        """Whether the state lives in Redis (and so is seen by every process)."""
        return self._shared is not None

    def _use(self, op: Callable[[_Store], Any]) -> Any:
        if self._shared is not None:
            try:
                result = op(self._shared)
            except redis.RedisError as exc:
                if not self._degraded:
                    self._degraded = True
                    _log.warning("breaker_state_unavailable_degrading", source=self.name, error=str(exc))
            else:
                if self._degraded:
                    self._degraded = False
                    _log.info("breaker_state_recovered", source=self.name)
                return result
        return op(self._local)

    @property
    def failures(self) -> int:
        """Consecutive failures counted so far (by every process sharing the state)."""
        failures: int = self._use(lambda store: store.read())[0]
        return failures

    @property
    def state(self) -> BreakerState:
        _, opened_at = self._use(lambda store: store.read())
        return _state_of(opened_at, self._clock(), self.reset_timeout)

    def before_call(self) -> None:
        """Raise EXT_5011 while open; let calls through when closed or half open."""
        failures, opened_at = self._use(lambda store: store.read())
        now = self._clock()
        if _state_of(opened_at, now, self.reset_timeout) is BreakerState.OPEN:
            remaining = self.reset_timeout - (now - (opened_at or 0.0))
            raise SourceError(
                "EXT_5011",
                f"circuit breaker for {self.name!r} is open",
                source=self.name,
                details={"consecutive_failures": failures, "retry_in_seconds": round(remaining, 3)},
            )

    def record_success(self) -> None:
        self._use(lambda store: store.success())

    def record_failure(self) -> None:
        now = self._clock()
        failures, tripped = self._use(
            lambda store: store.failure(now, self.failure_threshold, self.reset_timeout)
        )
        if tripped:
            _log.warning(
                "circuit_breaker_opened",
                source=self.name,
                consecutive_failures=failures,
                reset_seconds=self.reset_timeout,
                shared=self.shared,
            )

    def reset(self) -> None:
        self.record_success()


_BREAKERS: dict[str, CircuitBreaker] = {}
_REGISTRY_LOCK = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def _configured_redis() -> redis.Redis | None:
    """A client for ``AEGIS_REDIS_URL`` when it is set; ``None`` keeps breakers in memory."""
    from aegis_shared.config import get_settings

    settings = get_settings()
    if "redis_url" not in settings.model_fields_set:
        return None
    url = settings.redis_url.get_secret_value()
    client = _clients.get(url)
    if client is None:
        # Short timeouts: breaker bookkeeping must never hold a collection up for long.
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
    return client


def breaker_for(source: str, *, failure_threshold: int = 5, reset_timeout: float = 60.0) -> CircuitBreaker:
    """The breaker of ``source`` (created on first use in this process with these settings); its
    state is in Redis when ``AEGIS_REDIS_URL`` is set, so every process shares it."""
    with _REGISTRY_LOCK:
        breaker = _BREAKERS.get(source)
        if breaker is None:
            breaker = CircuitBreaker(
                source,
                failure_threshold=failure_threshold,
                reset_timeout=reset_timeout,
                redis_client=_configured_redis(),
            )
            _BREAKERS[source] = breaker
        return breaker


def reset_breakers() -> None:
    """Close every breaker, in Redis too (between test cases, or after an operator fixed a source)."""
    with _REGISTRY_LOCK:
        _BREAKERS.clear()
        client = _configured_redis()
        if client is not None:
            try:
                keys = list(client.scan_iter(match=f"{KEY_PREFIX}*", count=500))
                if keys:
                    client.delete(*keys)
            except redis.RedisError as exc:
                _log.warning("breaker_reset_failed", error=str(exc))
