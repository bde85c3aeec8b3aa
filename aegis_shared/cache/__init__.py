"""Redis caching: a degrading pooled client, a multi-level cache and ``cache_result``."""

from aegis_shared._extras import require_extra

# Before the imports it guards: without the extra, the error names the pip install line.
require_extra("cache", "aegis_shared.cache (Redis caching)")


from aegis_shared.cache.backend import CacheBackend
from aegis_shared.cache.codec import CacheCodecError, JsonCodec
from aegis_shared.cache.decorators import (
    CacheReentryError,
    cache_result,
    get_default_cache,
    set_default_cache,
)
from aegis_shared.cache.keys import DEFAULT_PREFIX, KeyBuilder, canonical_json
from aegis_shared.cache.multi_level import MultiLevelCache
from aegis_shared.cache.redis_client import RedisCache
from aegis_shared.cache.stats import CacheStats

# The name earlier service code imports for the client wrapper.
RedisClient = RedisCache

__all__ = [
    "DEFAULT_PREFIX",
    "CacheBackend",
    "CacheCodecError",
    "CacheReentryError",
    "CacheStats",
    "JsonCodec",
    "KeyBuilder",
    "MultiLevelCache",
    "RedisCache",
    "RedisClient",
    "cache_result",
    "canonical_json",
    "get_default_cache",
    "set_default_cache",
]
