"""Hit, miss and error counters for one cache, mirrored into Prometheus."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

CACHE_EVENTS = Counter(
    "aegis_cache_events_total",
    "Cache lookups by outcome: hit, miss (the function ran), error (Redis failed or bad entry), l1_hit.",
    ["cache", "event"],
)


_FIELDS = {"hit": "hits", "miss": "misses", "error": "errors", "l1_hit": "l1_hits"}


@dataclass
class CacheStats:
    """Per-instance counters; ``misses`` equals how many times a cached function really ran."""

    name: str
    hits: int = 0
    misses: int = 0
    errors: int = 0
    l1_hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _children: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Resolve the labelled children once: .labels() costs a dict lookup under a lock per call.
        self._children = {event: CACHE_EVENTS.labels(self.name, event) for event in _FIELDS}

    def record(self, event: str, amount: int = 1) -> None:
        attr = _FIELDS[event]
        with self._lock:
            setattr(self, attr, getattr(self, attr) + amount)
        self._children[event].inc(amount)

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def reset(self) -> None:
        with self._lock:
            self.hits = self.misses = self.errors = self.l1_hits = 0
