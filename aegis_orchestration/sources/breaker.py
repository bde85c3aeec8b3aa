"""A small per-source circuit breaker.

After ``failure_threshold`` consecutive failed fetches a source's breaker opens and calls fail
fast with EXT_5011 until ``reset_timeout`` passes; then one trial call is let through (half
open): success closes the breaker, failure opens it again. Hand-written because it is ~60 lines
and must share state across the connectors of one process by source name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

from aegis_orchestration.sources.errors import SourceError


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker; thread-safe."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_timeout:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def before_call(self) -> None:
        """Raise EXT_5011 while open; let calls through when closed or half open."""
        with self._lock:
            if self._state_locked() is BreakerState.OPEN:
                remaining = self.reset_timeout - (self._clock() - (self._opened_at or 0.0))
                raise SourceError(
                    "EXT_5011",
                    f"circuit breaker for {self.name!r} is open",
                    source=self.name,
                    details={"consecutive_failures": self._failures, "retry_in_seconds": round(remaining, 3)},
                )

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            half_open = self._state_locked() is BreakerState.HALF_OPEN
            if half_open or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()

    def reset(self) -> None:
        self.record_success()


_BREAKERS: dict[str, CircuitBreaker] = {}
_REGISTRY_LOCK = threading.Lock()


def breaker_for(source: str, *, failure_threshold: int = 5, reset_timeout: float = 60.0) -> CircuitBreaker:
    """The process-wide breaker of ``source`` (created on first use with these settings)."""
    with _REGISTRY_LOCK:
        breaker = _BREAKERS.get(source)
        if breaker is None:
            breaker = CircuitBreaker(source, failure_threshold=failure_threshold, reset_timeout=reset_timeout)
            _BREAKERS[source] = breaker
        return breaker


def reset_breakers() -> None:
    """Close every breaker (between test cases, or after an operator fixed a source)."""
    with _REGISTRY_LOCK:
        _BREAKERS.clear()
