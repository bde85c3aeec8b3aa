"""Two cache levels: an in-process TTL LRU (L1) in front of Redis (L2).

L1 answers hot keys without a network round trip. Its TTL is short because invalidation
reaches only this process's L1; other processes see a change when their L1 entry expires
(at most ``l1_ttl`` seconds later). L1 keeps encoded bytes, so callers can never mutate a
cached object in place.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from typing import Any

from cachetools import TLRUCache

from aegis_shared.cache.redis_client import RedisCache


def _expiry(_key: str, value: tuple[bytes, float], now: float) -> float:
    return now + value[1]


class MultiLevelCache:
    def __init__(self, l2: RedisCache, *, maxsize: int = 10_000, l1_ttl: float = 30.0) -> None:
        self.l2 = l2
        self.name = l2.name
        self.prefix = l2.prefix
        self.stats = l2.stats
        self.l1_ttl = l1_ttl
        self._l1: TLRUCache[str, tuple[bytes, float]] = TLRUCache(
            maxsize=maxsize, ttu=_expiry, timer=time.monotonic
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MultiLevelCache(l2={self.l2!r}, maxsize={self._l1.maxsize}, l1_ttl={self.l1_ttl})"

    # -- L1 ------------------------------------------------------------------------------------

    def _l1_get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._l1.get(key)
        if entry is None:
            return None
        self.stats.record("l1_hit")
        return entry[0]

    def _l1_put(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        ttl = self.l1_ttl if ttl_ms is None else min(self.l1_ttl, ttl_ms / 1000)
        with self._lock:
            self._l1[key] = (value, ttl)

    def _l1_drop(self, keys: tuple[str, ...]) -> int:
        with self._lock:
            return sum(1 for key in keys if self._l1.pop(key, None) is not None)

    def _l1_drop_pattern(self, pattern: str) -> int:
        with self._lock:
            doomed = [key for key in list(self._l1.keys()) if fnmatch.fnmatchcase(key, pattern)]
            for key in doomed:
                self._l1.pop(key, None)
        return len(doomed)

    def clear_local(self) -> None:
        with self._lock:
            self._l1.clear()

    @property
    def l1_size(self) -> int:
        return len(self._l1)

    # -- sync ----------------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        value = self._l1_get(key)
        if value is None:
            value = self.l2.get(key)
            if value is not None:
                self._l1_put(key, value, None)
        return value

    def set(self, key: str, value: bytes, ttl_ms: int) -> bool:
        self._l1_put(key, value, ttl_ms)
        return self.l2.set(key, value, ttl_ms)

    def delete(self, *keys: str) -> int:
        self._l1_drop(keys)
        return self.l2.delete(*keys)

    def invalidate_pattern(self, pattern: str) -> int:
        self._l1_drop_pattern(pattern)
        return self.l2.invalidate_pattern(pattern)

    def try_lock(self, key: str, ttl_ms: int) -> str | None:
        return self.l2.try_lock(key, ttl_ms)

    def unlock(self, key: str, token: str) -> None:
        self.l2.unlock(key, token)

    # -- async ---------------------------------------------------------------------------------

    async def aget(self, key: str) -> bytes | None:
        value = self._l1_get(key)
        if value is None:
            value = await self.l2.aget(key)
            if value is not None:
                self._l1_put(key, value, None)
        return value

    async def aset(self, key: str, value: bytes, ttl_ms: int) -> bool:
        self._l1_put(key, value, ttl_ms)
        return await self.l2.aset(key, value, ttl_ms)

    async def adelete(self, *keys: str) -> int:
        self._l1_drop(keys)
        return await self.l2.adelete(*keys)

    async def ainvalidate_pattern(self, pattern: str) -> int:
        self._l1_drop_pattern(pattern)
        return await self.l2.ainvalidate_pattern(pattern)

    async def atry_lock(self, key: str, ttl_ms: int) -> str | None:
        return await self.l2.atry_lock(key, ttl_ms)

    async def aunlock(self, key: str, token: str) -> None:
        await self.l2.aunlock(key, token)

    def __getattr__(self, item: str) -> Any:
        # ping, close, available … come from L2.
        return getattr(self.l2, item)
