"""Handler times added per batch read exactly as if each had been observed on its own."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram

from aegis_shared.messaging.metrics import observe_many

BUCKETS = (0.001, 0.01, 0.1, 1.0)
# On a bound, under the first, over the last, zero and a repeated value: every edge of the buckets.
AMOUNTS = [0.001, 0.0005, 0.0011, 0.01, 0.05, 0.5, 1.0, 7.5, 0.0, 0.05]


def _samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels.get("le", "")): sample.value
        for metric in histogram.collect()
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def test_observe_many_equals_observing_one_by_one() -> None:
    registry = CollectorRegistry()
    one = Histogram("one_by_one", "", ["kind"], buckets=BUCKETS, registry=registry)
    many = Histogram("all_at_once", "", ["kind"], buckets=BUCKETS, registry=registry)
    for amount in AMOUNTS:
        one.labels("a").observe(amount)
    observe_many(many.labels("a"), AMOUNTS[:4])
    observe_many(many.labels("a"), AMOUNTS[4:])  # two batches add up
    expected = {(name.replace("one_by_one", "all_at_once"), le): v for (name, le), v in _samples(one).items()}
    assert _samples(many) == pytest.approx(expected)
    assert expected[("all_at_once_count", "")] == len(AMOUNTS)


def test_a_histogram_without_bucket_internals_is_observed_one_by_one() -> None:
    seen: list[float] = []

    class Plain:
        def observe(self, amount: float) -> None:
            seen.append(amount)

    observe_many(Plain(), AMOUNTS)
    assert seen == AMOUNTS
