"""Prometheus metrics: idempotent factories, the HTTP request metrics and ``track_metrics``.

``track_metrics("data_processing", labels=["source"])`` on a sync or async function records

* ``aegis_data_processing_total{source, status}`` — calls, ``status`` being ``success`` or ``error``;
* ``aegis_data_processing_duration_seconds{source}`` — latency histogram;
* ``aegis_data_processing_errors_total{source, error_code}`` — failures by registered code
  (the exception's ``code`` for an ``AegisError``, else its class name).

Label values are read from the call's arguments by name, so a declaration such as
``labels=["source", "path"]`` works on ``process_batch(data, source, path="hot")``.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

P = ParamSpec("P")
R = TypeVar("R")

NAMESPACE = "aegis"
_metrics: dict[tuple[int, str], Any] = {}
_metrics_lock = threading.Lock()


def _get_or_create(
    kind: type[Any], name: str, doc: str, labels: Sequence[str], registry: CollectorRegistry, **extra: Any
) -> Any:
    """One collector per (registry, name): decorating twice reuses it instead of crashing."""
    key = (id(registry), name)
    with _metrics_lock:
        metric = _metrics.get(key)
        if metric is None:
            metric = kind(name, doc, list(labels), registry=registry, **extra)
            _metrics[key] = metric
        elif tuple(metric._labelnames) != tuple(labels):  # prometheus has no public accessor
            raise ValueError(f"metric {name!r} already exists with labels {metric._labelnames}")
        return metric


def counter(
    name: str, doc: str, labels: Sequence[str] = (), registry: CollectorRegistry = REGISTRY
) -> Counter:
    metric: Counter = _get_or_create(Counter, name, doc, labels, registry)
    return metric


def gauge(name: str, doc: str, labels: Sequence[str] = (), registry: CollectorRegistry = REGISTRY) -> Gauge:
    metric: Gauge = _get_or_create(Gauge, name, doc, labels, registry)
    return metric


def histogram(
    name: str,
    doc: str,
    labels: Sequence[str] = (),
    registry: CollectorRegistry = REGISTRY,
    buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
) -> Histogram:
    metric: Histogram = _get_or_create(Histogram, name, doc, labels, registry, buckets=buckets)
    return metric


def http_metrics(registry: CollectorRegistry = REGISTRY) -> tuple[Counter, Histogram]:
    """Request count and latency by method, route template (not raw path) and status."""
    requests = counter(
        f"{NAMESPACE}_http_requests_total", "HTTP requests.", ["method", "route", "status"], registry
    )
    latency = histogram(
        f"{NAMESPACE}_http_request_duration_seconds",
        "HTTP request latency.",
        ["method", "route"],
        registry,
    )
    return requests, latency


def _error_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) else type(exc).__name__


def track_metrics(
    metric_name: str,
    *,
    labels: Iterable[str] = (),
    track_latency: bool = True,
    track_errors: bool = True,
    registry: CollectorRegistry = REGISTRY,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Count calls, time them and count errors by code, for sync and async functions."""
    label_names = tuple(labels)
    base = f"{NAMESPACE}_{metric_name}"
    calls = counter(f"{base}_total", f"Calls of {metric_name}.", [*label_names, "status"], registry)
    latency = (
        histogram(f"{base}_duration_seconds", f"Latency of {metric_name}.", label_names, registry)
        if track_latency
        else None
    )
    errors = (
        counter(f"{base}_errors_total", f"Errors of {metric_name}.", [*label_names, "error_code"], registry)
        if track_errors
        else None
    )

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        missing = [name for name in label_names if name not in signature.parameters]
        if missing:
            raise ValueError(f"{fn.__qualname__} has no parameters named {missing} for metric labels")

        def label_values(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
            if not label_names:
                return []
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            return [str(bound.arguments.get(name, "")) for name in label_names]

        def record(values: list[str], started: float, exc: BaseException | None) -> None:
            if latency is not None:
                # prometheus-client refuses .labels() on an unlabelled metric.
                timer = latency.labels(*values) if values else latency
                timer.observe(time.perf_counter() - started)
            calls.labels(*values, "error" if exc else "success").inc()
            if exc is not None and errors is not None:
                errors.labels(*values, _error_code(exc)).inc()

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                values = label_values(args, kwargs)
                started = time.perf_counter()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    record(values, started, exc)
                    raise
                record(values, started, None)
                return result

            # For coroutine functions the async wrapper stands in for fn; mypy cannot tie the two types.
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            values = label_values(args, kwargs)
            started = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                record(values, started, exc)
                raise
            record(values, started, None)
            return result

        return wrapper

    return decorate
