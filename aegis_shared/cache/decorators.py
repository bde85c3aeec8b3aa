"""``cache_result``: cache a sync or async function's result in Redis (or a multi-level cache).

* Keys derive stably from the arguments (:mod:`aegis_shared.cache.keys`).
* TTLs carry downward jitter, so entries written together do not all expire together.
* Stampede protection is per-key single flight: in this process the first caller of a cold key
  computes it and concurrent callers of *that key* wait for its result (nothing is held across
  unrelated keys, so a cached function may call other cached functions freely, e.g. a memoised
  recursive ``fib``); across processes a Redis ``SET NX PX`` lock per key elects one computer and
  the others poll for its value. A waiter gives up after ``lock_timeout`` and computes itself.
* A cached function that calls itself *with the same key* while computing it (same thread or
  same asyncio task) can never finish, so that call raises :class:`CacheReentryError`
  (``SYS_7006``) at once instead of waiting on itself.
* Optional negative caching stores a ``None`` result for ``negative_ttl`` seconds.
* JSON only, typed by the return annotation (:mod:`aegis_shared.cache.codec`).
* A Redis outage degrades to calling the function (see :class:`RedisCache`).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import structlog

from aegis_shared.cache.backend import CacheBackend
from aegis_shared.cache.codec import CacheCodecError, JsonCodec
from aegis_shared.cache.keys import KeyBuilder
from aegis_shared.errors import SystemError_

logger = structlog.get_logger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_default_cache: CacheBackend | None = None
_MISSING = object()

# The cache keys the current thread or asyncio task is computing right now (a context variable:
# each thread has its own, and a task starts with a copy of its creator's).
_computing: ContextVar[frozenset[str]] = ContextVar("aegis_cache_computing", default=frozenset())


class CacheReentryError(SystemError_):
    """A cached function asked for the very key it is computing, from the same thread or task.

    Waiting for itself would never end, and computing again would recurse without bound, so
    the call fails at once with ``SYS_7006``. Different keys nest freely.
    """

    default_code = "SYS_7006"

    def __init__(self, key: str) -> None:
        super().__init__(details={"key": key})


class _SyncFlight:
    """One in-progress computation of one key in this process, for threads to wait on."""

    __slots__ = ("abandoned", "done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = _MISSING
        self.error: Exception | None = None
        self.abandoned = False  # the computer left by KeyboardInterrupt or similar: retry


def _enter(key: str) -> Any:
    """Mark ``key`` as being computed by this thread/task; refuse a key it is already computing."""
    computing = _computing.get()
    if key in computing:
        raise CacheReentryError(key)
    return _computing.set(computing | {key})


def set_default_cache(cache: CacheBackend | None) -> None:
    """Choose the cache used by decorators that were not given one."""
    global _default_cache
    _default_cache = cache


def get_default_cache() -> CacheBackend:
    """The process-wide cache, built from ``AEGIS_REDIS_URL`` on first use."""
    global _default_cache
    if _default_cache is None:
        from aegis_shared.cache.redis_client import RedisCache

        _default_cache = RedisCache.from_settings()
    return _default_cache


class _CachedCall:
    """Everything one decorated function shares across calls."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        ttl: float,
        cache: CacheBackend | None,
        namespace: str | None,
        key: str | None,
        jitter: float,
        negative_ttl: float | None,
        lock_timeout: float,
        ignore: Iterable[str],
    ) -> None:
        if ttl <= 0 or not 0 <= jitter < 1 or (negative_ttl is not None and negative_ttl <= 0):
            raise ValueError("ttl and negative_ttl must be positive and jitter within [0, 1)")
        self.fn = fn
        self.ttl = ttl
        self._cache = cache
        self.jitter = jitter
        self.negative_ttl = negative_ttl
        self.lock_timeout = lock_timeout
        self.codec = JsonCodec.for_function(fn)
        self._namespace, self._template, self._ignore = namespace, key, tuple(ignore)
        self._keys: KeyBuilder | None = None
        self._encode_warned = False
        # Single flight: the key's in-progress computation, if any. The lock guards the dict
        # only (a few instructions), never a computation.
        self.sync_flights: dict[str, _SyncFlight] = {}
        self.flights_lock = threading.Lock()
        # asyncio futures belong to one event loop; keep one flight table per loop.
        self.async_flights: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Future[Any]]
        ] = weakref.WeakKeyDictionary()

    @property
    def cache(self) -> CacheBackend:
        return self._cache or get_default_cache()

    @property
    def keys(self) -> KeyBuilder:
        # Built on first use: the default cache (and so the key prefix) may be chosen late.
        if self._keys is None:
            self._keys = KeyBuilder(
                self.fn,
                prefix=self.cache.prefix,
                namespace=self._namespace,
                template=self._template,
                ignore=self._ignore,
            )
        return self._keys

    def ttl_ms(self, value: Any) -> int:
        base = self.negative_ttl if value is None else self.ttl
        if base is None:  # should_store() lets None through only with a negative_ttl
            raise ValueError("None is cached only when a negative_ttl is set")
        return max(int(base * 1000 * random.uniform(1 - self.jitter, 1)), 1)  # nosec B311 # TTL jitter spreads expiries; nothing secret

    def should_store(self, value: Any) -> bool:
        return value is not None or self.negative_ttl is not None

    def decode(
        self, cache: CacheBackend, key: str, raw: bytes | None, *, delete: Callable[[str], Any]
    ) -> Any:
        if raw is None:
            return _MISSING
        try:
            return self.codec.decode(raw)
        except CacheCodecError:
            # A stale entry from an older return type, or something foreign: drop it, recompute.
            cache.stats.record("error")
            logger.warning("cache_entry_undecodable", cache=cache.name, key=key)
            delete(key)
            return _MISSING

    def encode(self, cache: CacheBackend, value: Any) -> bytes | None:
        try:
            return self.codec.encode(value)
        except CacheCodecError as exc:
            cache.stats.record("error")
            if not self._encode_warned:
                self._encode_warned = True
                logger.error("cache_value_not_serialisable", function=self.keys.base, error=str(exc))
            return None

    @staticmethod
    def lock_key(key: str) -> str:
        # Outside the value prefix, so pattern invalidation never matches a lock.
        return f"aegis:lock:{key}"


def cache_result(
    ttl: float,
    *,
    cache: CacheBackend | None = None,
    namespace: str | None = None,
    key: str | None = None,
    jitter: float = 0.1,
    negative_ttl: float | None = None,
    lock_timeout: float = 10.0,
    ignore: Iterable[str] = ("self", "cls"),
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache the decorated function's result for ``ttl`` seconds.

    ``key`` is an optional ``str.format`` template over the arguments (``"policy:{policy_id}"``)
    for readable keys that :meth:`invalidate_pattern` can target. The wrapper exposes
    ``cache_key(*args, **kwargs)``, ``invalidate(*args, **kwargs)`` and ``invalidate_all()``.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        call = _CachedCall(
            fn,
            ttl=ttl,
            cache=cache,
            namespace=namespace,
            key=key,
            jitter=jitter,
            negative_ttl=negative_ttl,
            lock_timeout=lock_timeout,
            ignore=ignore,
        )
        wrapper = _async_wrapper(call) if inspect.iscoroutinefunction(fn) else _sync_wrapper(call)
        functools.update_wrapper(wrapper, fn)

        def cache_key(*args: Any, **kwargs: Any) -> str:
            return call.keys(args, kwargs)

        # The documented helpers (fn.cache_key, fn.invalidate, ...) are attributes set on the wrapper.
        wrapper.cache_key = cache_key  # type: ignore[attr-defined]
        wrapper.invalidate = lambda *a, **kw: call.cache.delete(cache_key(*a, **kw))  # type: ignore[attr-defined]
        wrapper.invalidate_all = lambda: call.cache.invalidate_pattern(f"{call.keys.base}:*")  # type: ignore[attr-defined]
        wrapper.cached_call = call  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _sync_wrapper(call: _CachedCall) -> Callable[..., Any]:
    def lookup(cache: CacheBackend, key: str) -> Any:
        return call.decode(cache, key, cache.get(key), delete=cache.delete)

    def compute(cache: CacheBackend, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        token = _enter(key)
        try:
            value = call.fn(*args, **kwargs)
        finally:
            _computing.reset(token)
        cache.stats.record("miss")
        if call.should_store(value):
            encoded = call.encode(cache, value)
            if encoded is not None:
                cache.set(key, encoded, call.ttl_ms(value))
        return value

    def lead(cache: CacheBackend, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """This process's computer of ``key``: take the cross-process lock, or wait for its holder."""
        value = lookup(cache, key)  # another thread or process may have filled it meanwhile
        if value is not _MISSING:
            cache.stats.record("hit")
            return value
        lock_key = call.lock_key(key)
        deadline = time.monotonic() + call.lock_timeout
        delay = 0.005
        while True:
            token = cache.try_lock(lock_key, int(call.lock_timeout * 1000))
            if token is not None:
                try:
                    return compute(cache, key, args, kwargs)
                finally:
                    cache.unlock(lock_key, token)
            if time.monotonic() >= deadline:
                logger.warning("cache_lock_wait_timed_out", key=key)
                return compute(cache, key, args, kwargs)
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
            value = lookup(cache, key)
            if value is not _MISSING:
                cache.stats.record("hit")
                return value

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cache = call.cache
        key = call.keys(args, kwargs)
        if key in _computing.get():
            raise CacheReentryError(key)
        value = lookup(cache, key)
        if value is not _MISSING:
            cache.stats.record("hit")
            return value
        while True:
            with call.flights_lock:
                flight = call.sync_flights.get(key)
                leader = flight is None
                if flight is None:
                    flight = call.sync_flights[key] = _SyncFlight()
            if leader:
                break
            if not flight.done.wait(call.lock_timeout):
                logger.warning("cache_flight_wait_timed_out", key=key)
                return compute(cache, key, args, kwargs)
            if flight.abandoned:
                continue  # its computer was interrupted: try to lead
            if flight.error is not None:
                raise flight.error
            cache.stats.record("hit")
            return flight.value
        try:
            flight.value = lead(cache, key, args, kwargs)
            return flight.value
        except Exception as exc:
            flight.error = exc  # the waiters share the failure, as they would have shared a value
            raise
        except BaseException:
            flight.abandoned = True
            raise
        finally:
            with call.flights_lock:
                if call.sync_flights.get(key) is flight:
                    del call.sync_flights[key]
            flight.done.set()

    return wrapper


def _async_wrapper(call: _CachedCall) -> Callable[..., Any]:
    async def lookup(cache: CacheBackend, key: str) -> Any:
        raw = await cache.aget(key)
        deleted: list[str] = []
        value = call.decode(cache, key, raw, delete=deleted.append)
        if deleted:
            await cache.adelete(*deleted)
        return value

    async def compute(cache: CacheBackend, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        token = _enter(key)
        try:
            value = await call.fn(*args, **kwargs)
        finally:
            _computing.reset(token)
        cache.stats.record("miss")
        if call.should_store(value):
            encoded = call.encode(cache, value)
            if encoded is not None:
                await cache.aset(key, encoded, call.ttl_ms(value))
        return value

    async def lead(cache: CacheBackend, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """This process's computer of ``key``: take the cross-process lock, or wait for its holder."""
        value = await lookup(cache, key)
        if value is not _MISSING:
            cache.stats.record("hit")
            return value
        lock_key = call.lock_key(key)
        deadline = time.monotonic() + call.lock_timeout
        delay = 0.005
        while True:
            token = await cache.atry_lock(lock_key, int(call.lock_timeout * 1000))
            if token is not None:
                try:
                    return await compute(cache, key, args, kwargs)
                finally:
                    await cache.aunlock(lock_key, token)
            if time.monotonic() >= deadline:
                logger.warning("cache_lock_wait_timed_out", key=key)
                return await compute(cache, key, args, kwargs)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
            value = await lookup(cache, key)
            if value is not _MISSING:
                cache.stats.record("hit")
                return value

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        cache = call.cache
        key = call.keys(args, kwargs)
        if key in _computing.get():
            raise CacheReentryError(key)
        value = await lookup(cache, key)
        if value is not _MISSING:
            cache.stats.record("hit")
            return value
        loop = asyncio.get_running_loop()
        flights = call.async_flights.get(loop)
        if flights is None:
            flights = call.async_flights[loop] = {}
        while (flight := flights.get(key)) is not None:
            try:
                # shield: a waiter's timeout or cancellation must not cancel the computer.
                shared = await asyncio.wait_for(asyncio.shield(flight), call.lock_timeout)
            except TimeoutError:
                logger.warning("cache_flight_wait_timed_out", key=key)
                return await compute(cache, key, args, kwargs)
            except asyncio.CancelledError:
                if flight.cancelled():
                    continue  # its computer was cancelled, not this waiter: try to lead
                raise
            cache.stats.record("hit")
            return shared
        flight = loop.create_future()
        flights[key] = flight
        try:
            value = await lead(cache, key, args, kwargs)
            flight.set_result(value)
            return value
        except Exception as exc:
            flight.set_exception(exc)  # the waiters share the failure, as they would a value
            flight.exception()  # marks it retrieved: no "never retrieved" warning without waiters
            raise
        except BaseException:
            flight.cancel()
            raise
        finally:
            if flights.get(key) is flight:
                del flights[key]

    return wrapper
