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
consumer's hot loop pays it per message.
"""

from __future__ import annotations

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
