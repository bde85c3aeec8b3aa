"""The pipeline's Prometheus metrics (docs/platform.md §2), live for services and pushed for batch runs.

One set of metric families, two ways out:

* :class:`LiveMetrics`: ordinary ``prometheus_client`` collectors in a registry, for a long-lived
  process that Prometheus scrapes (``aegis hot-path serve`` exposes them on ``/metrics``);
* :class:`BatchMetrics`: a batch run (a Dagster step) records what it did and :func:`push_batch`
  sends it to a Prometheus Pushgateway.

**Why batch counters go through Redis.** A Pushgateway stores the last value pushed per group; it
does not add. If every run pushed its own counts, ``rate()`` over them would be meaningless (run 2
pushing 5 after run 1 pushed 5 reads as "no change"), and runs of different partitions, running
at once, would overwrite each other. So a run's increments are added atomically to running
totals in Redis (``HINCRBYFLOAT``), and the full totals are pushed, under a Redis lock so pushes
go out in the order the totals grew. Counters are then monotonic across runs and processes, as
``rate()`` and ``increase()`` expect; gauges keep the last value set. If the push fails the totals
are still in Redis and the next run's push carries them: nothing is lost.

No ``AEGIS_PUSHGATEWAY_URL`` means batch metrics are not pushed at all (and Redis is not touched).
Metrics never fail a run: a failed push is logged as SYS_7013 and the run goes on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import CollectorRegistry, push_to_gateway
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from aegis_shared.logging import get_logger
from aegis_shared.monitoring.metrics import counter, gauge, histogram

Kind = Literal["counter", "gauge", "histogram"]
PUSH_JOB = "aegis_batch"
_KEY_PREFIX = "aegis:metrics:"
_LOCK_KEY = "aegis:metrics:push-lock"

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: Kind
    doc: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


# docs/platform.md §2 lists them, in the platform's ``aegis_`` namespace. Durations in seconds.
SPECS: Mapping[str, MetricSpec] = {
    s.name: s
    for s in (
        MetricSpec(
            "aegis_data_collection_total",
            "counter",
            "Collection attempts (one per source partition run), by outcome.",
            ("source", "status"),
        ),
        MetricSpec(
            "aegis_data_collection_items_total",
            "counter",
            "Items collected, by outcome: inserted, unchanged or rejected.",
            ("source", "status"),
        ),
        MetricSpec(
            "aegis_data_collection_latency_seconds",
            "histogram",
            "Duration of one source partition's collection.",
            ("source",),
            (1, 5, 10, 30, 60, 120),
        ),
        MetricSpec(
            "aegis_pipeline_processing_total",
            "counter",
            "Records processed by the hot or cold path: success, or error (refused, sent to the DLQ).",
            ("path", "status"),
        ),
        MetricSpec(
            "aegis_pipeline_processing_latency_seconds",
            "histogram",
            "Duration of one processing step: a hot-path batch, or one cold-path asset of a partition.",
            ("path",),
            (0.1, 0.5, 1.0, 2.0, 5.0, 10.0),
        ),
        MetricSpec(
            "aegis_pipeline_lag_seconds",
            "gauge",
            "How far processing is behind: hot, age of the oldest record of the batch just processed; "
            "cold, age of the oldest policy still pending validation.",
            ("path",),
        ),
        MetricSpec(
            "aegis_data_quality_score",
            "gauge",
            "Mean quality total of the policies a cold-path run scored, by source.",
            ("source",),
        ),
        MetricSpec(
            "aegis_db_sync_total",
            "counter",
            "Serving-store syncs from PostgreSQL, by outcome.",
            ("target_db", "status"),
        ),
        MetricSpec(
            "aegis_db_sync_latency_seconds",
            "histogram",
            "Duration of one serving-store sync.",
            ("target_db",),
            (1, 5, 10, 30, 60),
        ),
    )
}


def _spec(name: str, kind: Kind, labels: Mapping[str, str]) -> MetricSpec:
    spec = SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown pipeline metric {name!r}; known: {sorted(SPECS)}")
    if spec.kind != kind:
        raise ValueError(f"{name} is a {spec.kind}, not a {kind}")
    if set(labels) != set(spec.labels):
        raise ValueError(f"{name} takes labels {spec.labels}, got {tuple(sorted(labels))}")
    return spec


class LiveMetrics:
    """The pipeline metrics as live collectors in ``registry`` (for a process Prometheus scrapes)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._collectors: dict[str, Any] = {}
        for spec in SPECS.values():
            metric: Any
            if spec.kind == "counter":
                metric = counter(spec.name, spec.doc, spec.labels, self.registry)
            elif spec.kind == "gauge":
                metric = gauge(spec.name, spec.doc, spec.labels, self.registry)
            else:
                metric = histogram(spec.name, spec.doc, spec.labels, self.registry, spec.buckets)
            self._collectors[spec.name] = metric

    def count(self, name: str, value: float = 1, **labels: str) -> None:
        spec = _spec(name, "counter", labels)
        self._collectors[name].labels(*(labels[k] for k in spec.labels)).inc(value)

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        spec = _spec(name, "histogram", labels)
        self._collectors[name].labels(*(labels[k] for k in spec.labels)).observe(seconds)

    def set(self, name: str, value: float, **labels: str) -> None:
        spec = _spec(name, "gauge", labels)
        self._collectors[name].labels(*(labels[k] for k in spec.labels)).set(value)


@dataclass(slots=True)
class BatchMetrics:
    """What one batch run observed, to be added to the running totals by :func:`push_batch`."""

    # (op, metric name, label values in spec order, value)
    ops: list[tuple[str, str, tuple[str, ...], float]] = field(default_factory=list)

    def count(self, name: str, value: float = 1, **labels: str) -> None:
        spec = _spec(name, "counter", labels)
        if value < 0:
            raise ValueError("a counter only goes up")
        if value:
            self.ops.append(("inc", name, tuple(labels[k] for k in spec.labels), float(value)))

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        spec = _spec(name, "histogram", labels)
        self.ops.append(("observe", name, tuple(labels[k] for k in spec.labels), float(seconds)))

    def set(self, name: str, value: float, **labels: str) -> None:
        spec = _spec(name, "gauge", labels)
        self.ops.append(("set", name, tuple(labels[k] for k in spec.labels), float(value)))


def _field(values: tuple[str, ...], suffix: str = "") -> str:
    return json.dumps([*values, suffix], ensure_ascii=False, separators=(",", ":"))


def _apply(pipe: Any, ops: list[tuple[str, str, tuple[str, ...], float]]) -> None:
    for op, name, values, value in ops:
        key = _KEY_PREFIX + name
        if op == "inc":
            pipe.hincrbyfloat(key, _field(values), value)
        elif op == "set":
            pipe.hset(key, _field(values), repr(value))
        else:
            for bound in SPECS[name].buckets:
                if value <= bound:
                    pipe.hincrbyfloat(key, _field(values, f"le={bound}"), 1)
            pipe.hincrbyfloat(key, _field(values, "le=+Inf"), 1)
            pipe.hincrbyfloat(key, _field(values, "sum"), value)


class _Totals(Collector):
    """The running totals read from Redis, as metric families for one push."""

    def __init__(self, snapshot: Mapping[str, Mapping[str, str]]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Any]:
        for spec in SPECS.values():
            raw = self.snapshot.get(spec.name) or {}
            if not raw:
                continue
            labels = list(spec.labels)
            if spec.kind == "counter":
                family: Any = CounterMetricFamily(spec.name, spec.doc, labels=labels)
                for key, value in sorted(raw.items()):
                    family.add_metric(json.loads(key)[:-1], float(value))
            elif spec.kind == "gauge":
                family = GaugeMetricFamily(spec.name, spec.doc, labels=labels)
                for key, value in sorted(raw.items()):
                    family.add_metric(json.loads(key)[:-1], float(value))
            else:
                family = HistogramMetricFamily(spec.name, spec.doc, labels=labels)
                series: dict[tuple[str, ...], dict[str, float]] = {}
                for key, value in raw.items():
                    *values, part = json.loads(key)
                    series.setdefault(tuple(values), {})[part] = float(value)
                for values, parts in sorted(series.items()):
                    bounds = [*spec.buckets, math.inf]
                    buckets = [
                        (
                            "+Inf" if b == math.inf else str(float(b)),
                            parts.get("le=+Inf" if b == math.inf else f"le={b}", 0.0),
                        )
                        for b in bounds
                    ]
                    family.add_metric(list(values), buckets, parts.get("sum", 0.0))
            yield family


def push_batch(
    metrics: BatchMetrics,
    *,
    pushgateway_url: str | None,
    redis_client: Any,
    job: str = PUSH_JOB,
    timeout: float = 5.0,
) -> bool:
    """Add ``metrics`` to the running totals and push them; False when not pushed (no URL, or a
    failure, logged as SYS_7013)."""
    if not pushgateway_url:
        return False
    try:
        with redis_client.lock(_LOCK_KEY, timeout=30, blocking_timeout=30):
            pipe = redis_client.pipeline(transaction=True)
            _apply(pipe, metrics.ops)
            pipe.execute()
            snapshot = {}
            for name in SPECS:
                raw = redis_client.hgetall(_KEY_PREFIX + name)
                snapshot[name] = {_text(k): _text(v) for k, v in raw.items()}
            registry = CollectorRegistry()
            registry.register(_Totals(snapshot))
            push_to_gateway(pushgateway_url, job=job, registry=registry, timeout=timeout)
        return True
    except Exception as exc:
        _log.warning(
            "pipeline metrics not pushed",
            code="SYS_7013",
            error=f"{type(exc).__name__}: {exc}"[:300],
        )
        return False


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
