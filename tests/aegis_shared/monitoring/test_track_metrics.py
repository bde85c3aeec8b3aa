"""track_metrics counts calls, latency and errors with labels from the arguments."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from aegis_shared.errors import PipelineError
from aegis_shared.monitoring import counter, track_metrics


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_sync_function_counts_latency_and_errors() -> None:
    registry = CollectorRegistry()

    @track_metrics("data_processing", labels=["source", "path"], registry=registry)
    def process(batch: list[int], source: str, path: str = "hot") -> int:
        if not batch:
            raise PipelineError("DP_4003")
        return len(batch)

    assert process([1, 2], "bizinfo") == 2
    assert process([1], source="bizinfo", path="cold") == 1
    with pytest.raises(PipelineError):
        process([], "kstartup")

    total = "aegis_data_processing_total"
    assert _value(registry, total, source="bizinfo", path="hot", status="success") == 1
    assert _value(registry, total, source="bizinfo", path="cold", status="success") == 1
    assert _value(registry, total, source="kstartup", path="hot", status="error") == 1
    assert (
        _value(
            registry,
            "aegis_data_processing_errors_total",
            source="kstartup",
            path="hot",
            error_code="DP_4003",
        )
        == 1
    )
    assert _value(registry, "aegis_data_processing_duration_seconds_count", source="bizinfo", path="hot") == 1


async def test_async_function_and_plain_exceptions() -> None:
    registry = CollectorRegistry()

    @track_metrics("hot_path", registry=registry)
    async def handle(ok: bool) -> str:
        if not ok:
            raise KeyError("x")
        return "done"

    assert await handle(True) == "done"
    with pytest.raises(KeyError):
        await handle(False)
    assert _value(registry, "aegis_hot_path_total", status="success") == 1
    assert _value(registry, "aegis_hot_path_errors_total", error_code="KeyError") == 1
    assert _value(registry, "aegis_hot_path_duration_seconds_count") == 2


def test_decorating_twice_reuses_the_collectors() -> None:
    registry = CollectorRegistry()

    @track_metrics("shared_name", registry=registry)
    def a() -> None: ...

    @track_metrics("shared_name", registry=registry)
    def b() -> None: ...

    a()
    b()
    assert _value(registry, "aegis_shared_name_total", status="success") == 2


def test_unknown_label_parameter_and_label_clash_are_refused() -> None:
    registry = CollectorRegistry()
    with pytest.raises(ValueError, match="no parameters"):

        @track_metrics("bad_labels", labels=["region"], registry=registry)
        def f(source: str) -> None: ...

    counter("aegis_clash_total", "x", ["a"], registry)
    with pytest.raises(ValueError, match="already exists"):
        counter("aegis_clash_total", "x", ["b"], registry)
