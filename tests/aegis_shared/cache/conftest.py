from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from aegis_shared.cache import RedisCache
from tests.aegis_shared.cache.redis_server import ThrowawayRedis


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_cache(redis_url: str) -> Iterator[RedisCache]:
    """A cache on the shared session Redis, under a prefix no other test uses."""
    cache = RedisCache(redis_url, name=f"t{uuid.uuid4().hex[:8]}", prefix=f"aegis:test:{uuid.uuid4().hex}")
    try:
        yield cache
    finally:
        cache.invalidate_pattern(f"{cache.prefix}:*")
        cache.close()
