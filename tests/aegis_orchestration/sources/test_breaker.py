"""The source circuit breaker shares its state across processes through the devstack's Redis.

Dagster runs each partition's step in its own process; a breaker in process memory never saw
the other partitions' failures. These tests count failures in separate processes (and in
independent breakers with their own Redis connections) and expect one trip for all of them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
import structlog

from aegis_orchestration.sources.breaker import KEY_PREFIX, BreakerState, CircuitBreaker, breaker_for
from aegis_orchestration.sources.errors import SourceError
from aegis_orchestration.sources.replay import ReplayServer
from aegis_shared.config import get_settings
from tests.aegis_orchestration.sources.conftest import KEY

DRIVER = Path(__file__).with_name("breaker_driver.py")
ROOT = Path(__file__).resolve().parents[3]


def _partition_process(source: str, replay: ReplayServer) -> str:
    """Collect ``source`` in a new process, as one partition's step; the error code it ended with."""
    done = subprocess.run(
        [sys.executable, str(DRIVER), source, replay.base_url, KEY],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_five_failing_partitions_in_five_processes_trip_the_breaker_once_for_all(
    replay: ReplayServer, redis_url: str
) -> None:
    replay.fail_always("bizinfo", "http500")
    # Five partitions, five step processes: each fails after its retries and counts one failure.
    assert [_partition_process("bizinfo", replay) for _ in range(5)] == ["DP_1001"] * 5
    sent = len(replay.requests_for("bizinfo"))
    assert sent == 5 * 2  # two attempts each: no process failed fast before the fifth failure
    # The sixth partition, in yet another process, fails fast without a request.
    assert _partition_process("bizinfo", replay) == "EXT_5011"
    assert len(replay.requests_for("bizinfo")) == sent
    # This process sees the same open breaker, and other sources are unaffected.
    assert breaker_for("bizinfo").state is BreakerState.OPEN
    assert breaker_for("bizinfo").failures == 5
    assert _partition_process("kstartup", replay) == "ok 79"


def test_two_breakers_on_separate_connections_share_one_state(redis_url: str) -> None:
    name = f"src-{uuid.uuid4().hex[:8]}"
    first, second = (
        CircuitBreaker(name, failure_threshold=5, reset_timeout=60, redis_client=redis.Redis.from_url(url))
        for url in (redis_url, redis_url)
    )
    with structlog.testing.capture_logs() as logs:
        for breaker in (first, second, first, second):
            breaker.record_failure()
        assert first.state is second.state is BreakerState.CLOSED
        second.record_failure()  # the fifth failure, wherever it happens, opens it for both
        assert first.state is second.state is BreakerState.OPEN
        with pytest.raises(SourceError) as caught:
            first.before_call()
        assert caught.value.code == "EXT_5011"
        assert caught.value.details["consecutive_failures"] == 5
        first.record_failure()  # a late in-flight failure while open does not trip it again
    assert [e["event"] for e in logs].count("circuit_breaker_opened") == 1
    second.record_success()  # a success anywhere closes it everywhere
    assert first.state is BreakerState.CLOSED and first.failures == 0
    first._shared.client.delete(KEY_PREFIX + name)  # type: ignore[union-attr]


def test_half_open_after_the_reset_timeout_in_every_process(redis_url: str) -> None:
    name = f"src-{uuid.uuid4().hex[:8]}"
    now = [1_000.0]
    first, second = (
        CircuitBreaker(
            name,
            failure_threshold=1,
            reset_timeout=30,
            clock=lambda: now[0],
            redis_client=redis.Redis.from_url(redis_url),
        )
        for _ in range(2)
    )
    first.record_failure()
    assert second.state is BreakerState.OPEN
    now[0] += 31
    assert first.state is second.state is BreakerState.HALF_OPEN
    second.before_call()  # a trial call goes through
    second.record_failure()  # and its failure opens the breaker again for both
    assert first.state is BreakerState.OPEN
    first.reset()


def test_without_a_redis_url_breakers_stay_in_process_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from aegis_orchestration.sources import breaker as breaker_module

    monkeypatch.delenv("AEGIS_REDIS_URL", raising=False)
    get_settings.cache_clear()
    monkeypatch.setattr(breaker_module, "_BREAKERS", {})
    try:
        local = breaker_for("rss", failure_threshold=2)
        assert not local.shared
        local.record_failure()
        local.record_failure()
        assert local.state is BreakerState.OPEN
    finally:
        get_settings.cache_clear()


def test_an_unreachable_redis_degrades_to_memory_and_says_so_once() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2, socket_timeout=0.2)
    breaker = CircuitBreaker("web", failure_threshold=2, redis_client=client)
    with structlog.testing.capture_logs() as logs:
        breaker.record_failure()
        breaker.record_failure()
        assert breaker.state is BreakerState.OPEN
    assert [e["event"] for e in logs].count("breaker_state_unavailable_degrading") == 1
