"""The whole lineage graph, materialized in process on the real local stack.

Collection runs over real HTTP against the replay server; every store is real (PostgreSQL,
Milvus Lite, FalkorDB, tantivy) and Kafka events go to the real broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from aegis_orchestration.demo import RunSummary, materialize_day
from aegis_orchestration.resources import SourcesResource
from aegis_orchestration.sources.replay import ReplayServer

DAY = "2026-11-20"
OFFLINE_KEY = "offline-replay-key"
EXPECTED_STATUS = {"active": 284, "rejected": 1}
EXPECTED_CROSS_SOURCE_GROUPS = 6  # the snapshot announces 6 programmes on several sources
# Collection already rejected the snapshot's malformed items with their codes; nothing valid is lost here.
EXPECTED_VALIDATION_REJECTIONS: dict[str, int] = {}


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(port=0) as server:
        yield server


@pytest.fixture(scope="module")
def resources(make_resources: Callable[..., dict[str, object]], replay: ReplayServer) -> dict[str, object]:
    resources = make_resources()  # its own database and store namespaces: counts here are exact
    base = replay.base_url
    resources["sources"] = SourcesResource(
        bizinfo_base_url=base,
        data_portal_base_url=base,
        rss_base_url=base,
        web_base_url=base,
        bizinfo_api_key=OFFLINE_KEY,
        data_portal_service_key=OFFLINE_KEY,
        retry_initial_wait=0.01,
        retry_max_wait=0.05,
        retry_jitter=0.0,
        requests_per_second=1000,
    )
    return resources


@pytest.fixture(scope="module")
def first_run(resources: dict[str, object]) -> RunSummary:
    return materialize_day(DAY, resources, instance=dg.DagsterInstance.ephemeral())


def _table_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in (
                "raw_announcements",
                "policies",
                "quality_metrics",
                "processing_history",
                "audit_logs",
                "store_sync_state",
            )
        } | {
            "policy_versions": conn.execute(
                sa.text("SELECT coalesce(sum(version), 0) FROM policies")
            ).scalar_one()
        }


def test_every_source_is_collected_and_every_check_passes(first_run: RunSummary) -> None:
    assert first_run.collection_failures == []
    assert first_run.cold_path_success
    assert first_run.checks, "no checks ran"
    assert all(first_run.checks.values()), first_run.checks
    assert {name.split(":")[1] for name in first_run.checks} >= {
        "quality_expectations",
        "policy_vectors_consistent_with_postgres",
        "policy_graph_consistent_with_postgres",
        "policy_search_index_consistent_with_postgres",
    }


def test_exact_counts_per_status_and_cross_source_duplicates_collapse(
    first_run: RunSummary, resources: dict[str, object]
) -> None:
    assert first_run.policies_by_status == EXPECTED_STATUS
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        merged = conn.execute(sa.text(
            "SELECT id, source_ids FROM policies WHERE jsonb_array_length(source_ids) > 1 ORDER BY id"
        )).all()
        rejected = conn.execute(sa.text(
            "SELECT details->>'code' AS code, count(*) FROM processing_history "
            "WHERE stage = 'validation' GROUP BY 1 ORDER BY 1"
        )).all()
    cross_source = [ids for _, ids in merged if len({i.split(":")[0] for i in ids}) > 1]
    assert len(cross_source) == EXPECTED_CROSS_SOURCE_GROUPS
    assert dict(rejected) == EXPECTED_VALIDATION_REJECTIONS


def test_every_store_holds_exactly_the_active_policies(first_run: RunSummary) -> None:
    active = first_run.policies_by_status["active"]
    assert active > 0
    assert first_run.policies_by_status.get("rejected", 0) > 0, "the snapshot has low-quality records"
    assert len(set(first_run.store_counts.values())) == 1, first_run.store_counts
    assert next(iter(first_run.store_counts.values())) == active


def test_rerun_is_idempotent(
    first_run: RunSummary, resources: dict[str, object]
) -> None:
    before = _table_counts(resources["postgres"].engine())  # type: ignore[attr-defined]
    second = materialize_day(DAY, resources, instance=dg.DagsterInstance.ephemeral())
    assert second.ok
    assert second.policies_by_status == first_run.policies_by_status
    assert second.store_counts == first_run.store_counts
    after = _table_counts(resources["postgres"].engine())  # type: ignore[attr-defined]
    assert after == before
