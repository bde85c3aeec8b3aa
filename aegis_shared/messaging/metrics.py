"""The event metrics of docs/events.md §6, on ``aegis_shared.monitoring.metrics``'s idempotent factories.

Seed name (labels) → metric here:

* ``events_published_total`` (event_type, source) → ``aegis_events_published_total``: events the
  broker acknowledged, counted when the publisher's flush confirms them;
* ``event_processing_seconds`` (event_type) → ``aegis_event_processing_seconds``: handler time
  per consumed event (retries included);
* ``events_consumed_total`` (event_type, consumer) → ``aegis_events_consumed_total``: events a
  consumer handled (``consumer`` is its group id);
* ``event_consumer_lag`` (topic, partition, consumer_group) → ``aegis_event_consumer_lag``:
  records behind the partition's high watermark after the last handled one;
* ``event_processing_errors_total`` (event_type, error_type) → ``aegis_event_processing_errors_total``:
  refused events (validation code), failed deliveries (``delivery``), handler failures (their
  code or exception class) and unreadable messages (their code, event type ``unknown``).

Children are cached per label set: a labelled lookup costs more than the increment, and the
consumer's hot loop pays it per message. The consumer also tallies its handled events per batch
(:class:`HandledTally`): every Prometheus update takes a lock, and updating two metrics per
message cost it a third of its throughput.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from functools import cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from aegis_shared.monitoring.metrics import NAMESPACE, counter, gauge, histogram

UNKNOWN_TYPE = "unknown"


@cache
def published() -> Counter:
    return counter(
        f"{NAMESPACE}_events_published_total", "Events acknowledged by the broker.", ["event_type", "source"]
    )


@cache
def processing_seconds() -> Histogram:
    return histogram(
        f"{NAMESPACE}_event_processing_seconds",
        "Handler time per consumed event, retries included.",
        ["event_type"],
        buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0),
    )


@cache
def consumed() -> Counter:
    return counter(
        f"{NAMESPACE}_events_consumed_total", "Events handled by a consumer.", ["event_type", "consumer"]
    )


@cache
def lag() -> Gauge:
    return gauge(
        f"{NAMESPACE}_event_consumer_lag",
        "Records behind the high watermark after the last handled one.",
        ["topic", "partition", "consumer_group"],
    )


@cache
def errors() -> Counter:
    return counter(
        f"{NAMESPACE}_event_processing_errors_total",
        "Events refused, undelivered, failed by a handler or unreadable.",
        ["event_type", "error_type"],
    )


class LabelCache:
    """``metric.labels(*values)`` memoised per label tuple."""

    def __init__(self, metric: Callable[[], Any]) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric().labels(*values)
        return child


def observe_many(child: Any, amounts: list[float]) -> None:
    """``child.observe(amount)`` for each amount, updating each bucket once.

    prometheus_client has no bulk observe; this adds what ``observe`` would, per bucket (it keeps
    per-bucket counts and makes them cumulative when collected). A client without those
    attributes gets the observations one by one.
    """
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(child, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for amount in amounts:
            child.observe(amount)
        return
    counts = [0] * len(bounds)
    for amount in amounts:  # the first bound >= amount; the last bound is +Inf
        counts[bisect_left(bounds, amount)] += 1
    total.inc(sum(amounts))
    for bucket, count in zip(buckets, counts, strict=True):
        if count:
            bucket.inc(count)


class HandledTally:
    """Handled events and handler times of one consumer, added to the metrics by :meth:`flush`."""

    def __init__(self, consumer: str) -> None:
        self._consumer = consumer
        self._consumed = LabelCache(consumed)
        self._timing = LabelCache(processing_seconds)
        self._handled: dict[str, int] = {}
        self._seconds: dict[str, list[float]] = {}

    def add(self, event_type: str, seconds: float, *, handled: bool) -> None:
        """One event's handler time; ``handled`` False for one that ended in the DLQ."""
        times = self._seconds.get(event_type)
        if times is None:
            times = self._seconds[event_type] = []
        times.append(seconds)
        if handled:
            self._handled[event_type] = self._handled.get(event_type, 0) + 1

    def flush(self) -> None:
        for event_type, count in self._handled.items():
            self._consumed(event_type, self._consumer).inc(count)
        for event_type, times in self._seconds.items():
            observe_many(self._timing(event_type), times)
        self._handled.clear()
        self._seconds.clear()
