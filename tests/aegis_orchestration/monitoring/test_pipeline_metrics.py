"""Pipeline metrics for real: a materialization pushes to the stack's Pushgateway and Prometheus,
scraping it, answers with the new totals over its HTTP API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import dagster as dg
import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from aegis_orchestration.assets.stores import policy_graph, policy_search_index
from aegis_orchestration.devstack import DevStack
from aegis_orchestration.partitions import daily_partitions
from aegis_orchestration.resources import GraphStoreResource
from aegis_shared.monitoring.pipeline_metrics import BatchMetrics, push_batch


def _gateway_value(stack: DevStack, name: str, **labels: str) -> float:
    """The value the Pushgateway holds now (0 when the series does not exist yet)."""
    text = httpx.get(f"{stack.pushgateway.url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def _prometheus_value(stack: DevStack, query: str) -> float | None:
    body = httpx.get(f"{stack.prometheus.url}/api/v1/query", params={"query": query}, timeout=5).json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _wait_for_prometheus(stack: DevStack, query: str, expected: float, timeout: float = 60.0) -> float | None:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = _prometheus_value(stack, query)
        if value is not None and abs(value - expected) < 1e-9:
            return value
        time.sleep(1)
    return value


def test_a_sync_run_pushes_its_outcome_and_prometheus_reads_it_back(
    devstack: DevStack, make_resources: Callable[..., dict[str, object]]
) -> None:
    ok = {"target_db": "search", "status": "success"}
    failed = {"target_db": "graph", "status": "error"}
    before_ok = _gateway_value(devstack, "aegis_db_sync_total", **ok)
    before_failed = _gateway_value(devstack, "aegis_db_sync_total", **failed)
    before_graph_ok = _gateway_value(devstack, "aegis_db_sync_total", target_db="graph", status="success")
    # The graph store is unreachable: its sync fails (with retries), the search sync succeeds.
    resources = make_resources(graph=GraphStoreResource(url="redis://127.0.0.1:1", graph_name="nowhere"))
    result = dg.materialize(
        [policy_search_index, policy_graph],
        partition_key=daily_partitions.get_last_partition_key(),
        resources=resources,
        raise_on_error=False,
    )
    assert not result.success
    final_failures = len(
        [
            e
            for e in result.all_events
            if e.step_key == "policy_graph" and e.event_type_value == "STEP_FAILURE"
        ]
    )
    retries = len(
        [
            e
            for e in result.all_events
            if e.step_key == "policy_graph" and e.event_type_value == "STEP_UP_FOR_RETRY"
        ]
    )
    assert final_failures == 1  # every attempt (the retries and the last one) counts as an error

    assert _gateway_value(devstack, "aegis_db_sync_total", **ok) == before_ok + 1
    assert _gateway_value(devstack, "aegis_db_sync_total", **failed) == before_failed + 1 + retries
    assert (
        _gateway_value(devstack, "aegis_db_sync_total", target_db="graph", status="success")
        == before_graph_ok
    )

    query = 'aegis_db_sync_total{job="aegis_batch", target_db="search", status="success"}'
    assert _wait_for_prometheus(devstack, query, before_ok + 1) == before_ok + 1
    query = 'aegis_db_sync_total{job="aegis_batch", target_db="graph", status="error"}'
    assert _wait_for_prometheus(devstack, query, before_failed + 1 + retries) == before_failed + 1 + retries
    latency = 'aegis_db_sync_latency_seconds_count{job="aegis_batch", target_db="search"}'
    assert (_prometheus_value(devstack, latency) or 0) >= 1


@pytest.fixture
def redis_client(devstack: DevStack) -> redis.Redis:
    return redis.Redis.from_url(f"{devstack.graph.url}/0")


def test_without_a_pushgateway_url_nothing_is_pushed_or_counted(
    devstack: DevStack, redis_client: redis.Redis
) -> None:
    source = f"nourl-{uuid.uuid4().hex[:6]}"
    recorded = BatchMetrics()
    recorded.count("aegis_data_collection_total", source=source, status="success")
    assert push_batch(recorded, pushgateway_url=None, redis_client=redis_client) is False
    assert _gateway_value(devstack, "aegis_data_collection_total", source=source, status="success") == 0
    assert not any(
        source in key.decode() for key in redis_client.hkeys("aegis:metrics:aegis_data_collection_total")
    )


def test_a_failed_push_loses_nothing_the_next_push_carries_it(
    devstack: DevStack, redis_client: redis.Redis
) -> None:
    source = f"lost-{uuid.uuid4().hex[:6]}"
    first = BatchMetrics()
    first.count("aegis_data_collection_total", source=source, status="error")
    first.set("aegis_data_quality_score", 0.42, source=source)
    # Nothing listens on port 1: the push fails, the run is not failed by it.
    assert push_batch(first, pushgateway_url="http://127.0.0.1:1", redis_client=redis_client) is False
    second = BatchMetrics()
    second.count("aegis_data_collection_total", source=source, status="error")
    assert push_batch(second, pushgateway_url=devstack.pushgateway.url, redis_client=redis_client) is True
    assert _gateway_value(devstack, "aegis_data_collection_total", source=source, status="error") == 2
    assert _gateway_value(devstack, "aegis_data_quality_score", source=source) == pytest.approx(0.42)


def test_a_metric_must_be_one_of_the_pipelines_with_its_labels() -> None:
    recorded = BatchMetrics()
    with pytest.raises(ValueError, match="unknown pipeline metric"):
        recorded.count("aegis_made_up_total", source="x", status="success")
    with pytest.raises(ValueError, match="takes labels"):
        recorded.count("aegis_db_sync_total", store="graph", status="success")
    with pytest.raises(ValueError, match="is a histogram"):
        recorded.count("aegis_db_sync_latency_seconds", target_db="graph")
    assert recorded.ops == []
