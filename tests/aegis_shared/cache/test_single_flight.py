"""Per-key single flight in cache_result: nested cached calls never block, one key computes once.

Against the session's real Redis. Every call that could hang runs under a deadline, so a
regression fails the test instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from aegis_shared.cache import CacheReentryError, RedisCache, cache_result


def _within(seconds: float, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a daemon thread and fail if it has not returned after ``seconds``."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"call did not return within {seconds} s (deadlock?)")
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_memoised_recursive_fib_returns(redis_cache: RedisCache) -> None:
    calls: list[int] = []

    @cache_result(ttl=60, cache=redis_cache)
    def fib(n: int) -> int:
        calls.append(n)
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    # 61 keys nest 60 deep: under the old 256 striped locks two of them nearly surely shared a
    # stripe, and fib(11) alone could hang.
    assert _within(20, lambda: fib(11)) == 89
    assert _within(20, lambda: fib(60)) == 1548008755920
    assert sorted(calls) == list(range(61))  # every n computed exactly once
    assert _within(5, lambda: fib(60)) == 1548008755920 and len(calls) == 61  # now a hit


async def test_async_memoised_recursive_fib_returns(redis_cache: RedisCache) -> None:
    calls: list[int] = []

    @cache_result(ttl=60, cache=redis_cache)
    async def fib(n: int) -> int:
        calls.append(n)
        return n if n < 2 else await fib(n - 1) + await fib(n - 2)

    assert await asyncio.wait_for(fib(11), 20) == 89
    assert await asyncio.wait_for(fib(60), 20) == 1548008755920
    assert sorted(calls) == list(range(61))
    await redis_cache.aclose()


def test_nested_call_of_the_same_key_raises_a_coded_error_at_once(redis_cache: RedisCache) -> None:
    # The key template ignores ``depth``, so the inner call asks for the key being computed.
    @cache_result(ttl=60, cache=redis_cache, key="report:{region}", ignore=("depth",), lock_timeout=30)
    def report(region: str, depth: int = 0) -> str:
        return region if depth else report(region, depth=1)

    started = time.monotonic()
    with pytest.raises(CacheReentryError) as caught:
        _within(10, lambda: report("seoul"))
    assert caught.value.code == "SYS_7006"
    assert caught.value.details["key"] == report.cache_key("seoul")
    assert time.monotonic() - started < 5  # refused at once, not after the 30 s lock timeout
    assert redis_cache.client.exists(f"aegis:lock:{report.cache_key('seoul')}") == 0  # released
    assert redis_cache.client.get(report.cache_key("seoul")) is None  # nothing cached


async def test_async_nested_call_of_the_same_key_raises_a_coded_error(redis_cache: RedisCache) -> None:
    @cache_result(ttl=60, cache=redis_cache, key="report:{region}", ignore=("depth",), lock_timeout=30)
    async def report(region: str, depth: int = 0) -> str:
        return region if depth else await report(region, depth=1)

    with pytest.raises(CacheReentryError) as caught:
        await asyncio.wait_for(report("busan"), 5)
    assert caught.value.code == "SYS_7006"
    await redis_cache.aclose()


def test_unrelated_keys_do_not_wait_on_each_other(redis_cache: RedisCache) -> None:
    release = threading.Event()
    slow_started = threading.Event()

    @cache_result(ttl=60, cache=redis_cache)
    def lookup(name: str) -> str:
        if name == "slow":
            slow_started.set()
            release.wait(10)
        return name.upper()

    slow = threading.Thread(target=lookup, args=("slow",), daemon=True)
    slow.start()
    try:
        assert slow_started.wait(5)
        # Keys computed while "slow" is still running: none may wait for it.
        started = time.monotonic()
        assert _within(5, lambda: [lookup(f"k{i}") for i in range(300)]) == [f"K{i}" for i in range(300)]
        assert time.monotonic() - started < 5
        assert slow.is_alive()  # "slow" really was in progress the whole time
    finally:
        release.set()
        slow.join(10)


async def test_async_unrelated_keys_do_not_wait_on_each_other(redis_cache: RedisCache) -> None:
    release = asyncio.Event()

    @cache_result(ttl=60, cache=redis_cache)
    async def lookup(name: str) -> str:
        if name == "slow":
            await release.wait()
        return name.upper()

    slow = asyncio.create_task(lookup("slow"))
    await asyncio.sleep(0.05)
    others = await asyncio.wait_for(asyncio.gather(*(lookup(f"k{i}") for i in range(300))), 5)
    assert others == [f"K{i}" for i in range(300)]
    assert not slow.done()
    release.set()
    assert await asyncio.wait_for(slow, 5) == "SLOW"
    await redis_cache.aclose()


def test_concurrent_callers_of_one_key_compute_once_and_share_a_failure(redis_cache: RedisCache) -> None:
    calls = 0
    guard = threading.Lock()
    gate = threading.Barrier(8)

    @cache_result(ttl=60, cache=redis_cache)
    def failing(x: int) -> int:
        nonlocal calls
        with guard:
            calls += 1
        time.sleep(0.3)
        raise RuntimeError("upstream down")

    errors: list[BaseException] = []

    def caller() -> None:
        gate.wait()
        try:
            failing(1)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert calls == 1  # one computation; the seven waiters got its failure instead of retrying
    assert len(errors) == 8 and all(str(e) == "upstream down" for e in errors)
    assert redis_cache.client.get(failing.cache_key(1)) is None


async def test_cancelled_computer_hands_the_key_to_a_waiter(redis_cache: RedisCache) -> None:
    calls = 0

    @cache_result(ttl=60, cache=redis_cache)
    async def slow(x: int) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.3)
        return x

    first = asyncio.create_task(slow(3))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(slow(3))
    await asyncio.sleep(0.05)
    first.cancel()
    assert await asyncio.wait_for(second, 5) == 3
    assert calls == 2
    with pytest.raises(asyncio.CancelledError):
        await first
    await redis_cache.aclose()
