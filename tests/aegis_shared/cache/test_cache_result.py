"""cache_result against a real local Redis: counts, stampedes, invalidation and outages."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import pickle
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
import structlog
from pydantic import BaseModel

from aegis_shared.cache import MultiLevelCache, RedisCache, cache_result
from tests.aegis_shared.cache.redis_server import ThrowawayRedis


class Policy(BaseModel):
    policy_id: str
    deadline: dt.date


def test_hit_and_miss_counts(redis_cache: RedisCache) -> None:
    calls: list[str] = []

    @cache_result(ttl=60, cache=redis_cache)
    def get_policy(policy_id: str) -> Policy:
        calls.append(policy_id)
        return Policy(policy_id=policy_id, deadline=dt.date(2026, 12, 31))

    first = get_policy("p1")
    again = get_policy(policy_id="p1")
    get_policy("p2")
    get_policy("p2")
    get_policy("p1")
    assert calls == ["p1", "p2"]
    assert isinstance(again, Policy) and again == first
    assert (redis_cache.stats.hits, redis_cache.stats.misses, redis_cache.stats.errors) == (3, 2, 0)


async def test_async_hit_and_miss_counts(redis_cache: RedisCache) -> None:
    calls = 0

    @cache_result(ttl=60, cache=redis_cache)
    async def count_policies(region: str) -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return {region: 3}

    assert await count_policies("11") == {"11": 3}
    assert await count_policies("11") == {"11": 3}
    assert calls == 1
    assert (redis_cache.stats.hits, redis_cache.stats.misses) == (1, 1)
    await redis_cache.aclose()


def test_ten_concurrent_threads_compute_a_cold_key_once(redis_cache: RedisCache) -> None:
    calls = 0
    gate = threading.Barrier(10)

    @cache_result(ttl=60, cache=redis_cache)
    def slow(x: int) -> int:
        nonlocal calls
        calls += 1
        time.sleep(0.3)
        return x * 2

    results: list[int] = []

    def caller() -> None:
        gate.wait()
        results.append(slow(21))

    threads = [threading.Thread(target=caller) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 10
    assert calls == 1
    assert (redis_cache.stats.misses, redis_cache.stats.hits) == (1, 9)


async def test_ten_concurrent_tasks_compute_a_cold_key_once(redis_cache: RedisCache) -> None:
    calls = 0

    @cache_result(ttl=60, cache=redis_cache)
    async def slow(x: int) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.3)
        return x * 2

    assert await asyncio.gather(*(slow(5) for _ in range(10))) == [10] * 10
    assert calls == 1
    await redis_cache.aclose()


def test_stampede_lock_spans_processes(redis_url: str) -> None:
    """Two caches with separate pools stand in for two processes: only Redis coordinates them."""
    prefix = f"aegis:test:{uuid.uuid4().hex}"
    caches = [RedisCache(redis_url, prefix=prefix, name=f"proc{i}") for i in range(2)]
    calls = 0
    guard = threading.Lock()

    def make(cache: RedisCache):  # type: ignore[no-untyped-def]
        @cache_result(ttl=60, cache=cache, namespace="shared")
        def compute(x: int) -> int:
            nonlocal calls
            with guard:
                calls += 1
            time.sleep(0.3)
            return x

        return compute

    functions = [make(c) for c in caches]
    gate = threading.Barrier(10)
    out: list[int] = []

    def caller(i: int) -> None:
        gate.wait()
        out.append(functions[i % 2](7))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [7] * 10 and calls == 1
    caches[0].invalidate_pattern(f"{prefix}:*")
    for c in caches:
        c.close()


def test_exception_is_not_cached_and_releases_the_lock(redis_cache: RedisCache) -> None:
    attempts = 0

    @cache_result(ttl=60, cache=redis_cache, lock_timeout=2)
    def flaky() -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("boom")
        return 1

    with pytest.raises(RuntimeError):
        flaky()
    assert redis_cache.client.exists(f"aegis:lock:{flaky.cache_key()}") == 0  # lock released
    assert redis_cache.client.get(flaky.cache_key()) is None  # failure not cached
    assert flaky() == 1
    assert attempts == 2


def test_pattern_invalidation_removes_exactly_the_matching_keys(redis_cache: RedisCache) -> None:
    @cache_result(ttl=60, cache=redis_cache, namespace="policy", key="{region}:{policy_id}")
    def get(region: str, policy_id: str) -> str:
        return f"{region}/{policy_id}"

    @cache_result(ttl=60, cache=redis_cache, namespace="policyx", key="{region}:{policy_id}")
    def get_other(region: str, policy_id: str) -> str:
        return "other"

    for i in range(30):
        get("11", f"p{i}")
        get("26", f"p{i}")
        get_other("11", f"p{i}")
    raw = redis_cache.client
    before = set(raw.scan_iter(match=f"{redis_cache.prefix}:*", count=1000))
    assert len(before) == 90

    removed = redis_cache.invalidate_pattern(f"{redis_cache.prefix}:policy:11:*")
    after = set(raw.scan_iter(match=f"{redis_cache.prefix}:*", count=1000))
    expected_gone = {f"{redis_cache.prefix}:policy:11:p{i}".encode() for i in range(30)}
    assert removed == 30
    assert before - after == expected_gone
    # Single-key invalidation and whole-function invalidation.
    assert get.invalidate("26", "p0") == 1
    assert get_other.invalidate_all() == 30
    final = set(raw.scan_iter(match=f"{redis_cache.prefix}:*", count=1000))
    assert final == {f"{redis_cache.prefix}:policy:26:p{i}".encode() for i in range(1, 30)}


def test_ttl_carries_downward_jitter(redis_cache: RedisCache) -> None:
    @cache_result(ttl=100, cache=redis_cache, jitter=0.2, key="{i}")
    def value(i: int) -> int:
        return i

    ttls = []
    for i in range(40):
        value(i)
        ttls.append(redis_cache.client.pttl(value.cache_key(i)))
    assert all(79_000 <= t <= 100_000 for t in ttls)
    assert len(set(ttls)) > 10  # actually spread, not one fixed value


def test_negative_caching_is_optional(redis_cache: RedisCache) -> None:
    calls = {"plain": 0, "negative": 0}

    @cache_result(ttl=60, cache=redis_cache)
    def plain(pid: str) -> Policy | None:
        calls["plain"] += 1
        return None

    @cache_result(ttl=60, cache=redis_cache, negative_ttl=5)
    def negative(pid: str) -> Policy | None:
        calls["negative"] += 1
        return None

    for _ in range(3):
        assert plain("missing") is None
        assert negative("missing") is None
    assert calls == {"plain": 3, "negative": 1}
    assert 0 < redis_cache.client.pttl(negative.cache_key("missing")) <= 5000


def test_foreign_entries_are_never_unpickled(redis_cache: RedisCache, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    @cache_result(ttl=60, cache=redis_cache)
    def fetch(pid: str) -> dict[str, str]:
        return {"pid": pid}

    redis_cache.client.set(fetch.cache_key("p"), pickle.dumps(Evil()))
    assert fetch("p") == {"pid": "p"}
    assert not marker.exists()
    assert redis_cache.stats.errors == 1 and redis_cache.stats.misses == 1
    assert fetch("p") == {"pid": "p"} and redis_cache.stats.hits == 1  # replaced by a good entry


def test_unserialisable_result_is_returned_but_not_cached(redis_cache: RedisCache) -> None:
    @cache_result(ttl=60, cache=redis_cache)
    def weird() -> object:
        return object()

    assert weird() is not None
    assert redis_cache.stats.errors == 1
    assert redis_cache.client.get(weird.cache_key()) is None


def test_calls_succeed_while_redis_is_stopped(throwaway_redis: ThrowawayRedis) -> None:
    # A long retry interval: after the first failure Redis is not tried again during the test.
    cache = RedisCache(throwaway_redis.url, prefix="aegis:outage", retry_interval=60, socket_timeout=0.2)
    calls = 0

    @cache_result(ttl=60, cache=cache)
    def compute(x: int) -> int:
        nonlocal calls
        calls += 1
        return x + 1

    assert compute(1) == 2 and compute(1) == 2 and calls == 1
    throwaway_redis.stop()
    with structlog.testing.capture_logs() as logs:
        results = [compute(1) for _ in range(20)]
    assert results == [2] * 20
    assert calls == 21  # degraded: every call ran the function, none failed
    # One failed Redis call opened the outage window; the other 19 calls skipped Redis
    # instead of each waiting for a connect timeout.
    assert cache.stats.errors == 1
    assert [e["event"] for e in logs].count("cache_unavailable_degrading") == 1
    cache.close()


async def test_async_calls_succeed_while_redis_is_stopped(throwaway_redis: ThrowawayRedis) -> None:
    cache = RedisCache(throwaway_redis.url, prefix="aegis:outage", retry_interval=0.2, socket_timeout=0.2)

    @cache_result(ttl=60, cache=cache)
    async def compute(x: int) -> int:
        return x + 1

    assert await compute(1) == 2
    throwaway_redis.stop()
    assert [await compute(1) for _ in range(5)] == [2] * 5
    assert cache.stats.errors >= 1
    await cache.aclose()


def test_multi_level_cache_serves_hot_keys_from_l1(throwaway_redis: ThrowawayRedis) -> None:
    l2 = RedisCache(throwaway_redis.url, prefix="aegis:ml", retry_interval=0.2, socket_timeout=0.2)
    cache = MultiLevelCache(l2, maxsize=100, l1_ttl=30)
    calls = 0

    @cache_result(ttl=60, cache=cache, key="{x}")
    def compute(x: int) -> int:
        nonlocal calls
        calls += 1
        return x * 10

    assert compute(1) == 10 and compute(1) == 10
    assert cache.stats.l1_hits == 1 and calls == 1
    # A second process's L1 is cold: it reads L2 and fills its own L1.
    other = MultiLevelCache(RedisCache(throwaway_redis.url, prefix="aegis:ml"), maxsize=100)
    assert other.get(compute.cache_key(1)) == b"10" and other.l1_size == 1
    # With Redis gone, L1 still answers.
    throwaway_redis.stop()
    assert compute(1) == 10 and calls == 1
    # Invalidation clears L1 too, so the function runs again (degraded: Redis is down).
    assert compute.invalidate_all() == 0
    assert compute(1) == 10 and calls == 2
    l2.close()


def test_l1_entries_expire_with_the_shorter_ttl(redis_cache: RedisCache) -> None:
    cache = MultiLevelCache(redis_cache, maxsize=10, l1_ttl=30)
    cache.set(f"{redis_cache.prefix}:k", b"1", ttl_ms=100)
    assert cache.get(f"{redis_cache.prefix}:k") == b"1"
    time.sleep(0.25)
    assert cache.get(f"{redis_cache.prefix}:k") is None


def test_redis_errors_other_than_outage_degrade_too(redis_cache: RedisCache) -> None:
    """A WRONGTYPE reply (someone stored a hash under our key) is a miss, not a crash."""

    @cache_result(ttl=60, cache=redis_cache)
    def f() -> int:
        return 1

    redis_cache.client.hset(f.cache_key(), "a", "b")
    assert f() == 1
    assert redis_cache.stats.errors >= 1
    with pytest.raises(redis.ResponseError):
        redis_cache.client.get(f.cache_key())


def test_default_cache_is_used_when_none_is_given(redis_cache: RedisCache) -> None:
    from aegis_shared.cache import get_default_cache, set_default_cache

    set_default_cache(redis_cache)
    try:

        @cache_result(ttl=30)
        def f(x: int) -> int:
            return x

        assert f(3) == 3 and f(3) == 3
        assert get_default_cache() is redis_cache
        assert redis_cache.stats.hits == 1
        assert f.cache_key(3).startswith(redis_cache.prefix)
    finally:
        set_default_cache(None)


def test_recovery_after_restart_is_logged_once(throwaway_redis: ThrowawayRedis) -> None:
    cache = RedisCache(throwaway_redis.url, prefix="aegis:recover", retry_interval=0.05, socket_timeout=0.2)
    throwaway_redis.stop()
    with structlog.testing.capture_logs() as logs:
        assert cache.get("aegis:recover:k") is None
        throwaway_redis.start()
        time.sleep(0.1)  # let the outage window pass
        assert cache.set("aegis:recover:k", b"1", 10_000)
        assert cache.get("aegis:recover:k") == b"1"
    events = [e["event"] for e in logs]
    assert events.count("cache_unavailable_degrading") == 1 and events.count("cache_recovered") == 1
    cache.close()
