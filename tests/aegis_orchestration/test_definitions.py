"""Every definition loads, the lineage graph is whole, and Dagster's own validation passes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import ConcurrencyConfig, dagster_instance_config

from aegis_orchestration.definitions import all_assets, defs
from aegis_orchestration.devstack import DevStack
from aegis_orchestration.partitions import daily_partitions

REPO = Path(__file__).resolve().parents[2]


def test_every_definition_loads() -> None:
    repo = defs.get_repository_def()
    assert repo.get_all_jobs()
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "raw_announcements",
        "validated_announcements",
        "deduplicated_announcements",
        "policy_quality",
        "policies",
        "policy_vectors",
        "policy_graph",
        "policy_search_index",
        "expired_policies",
    } <= keys


def test_lineage_runs_from_collection_to_every_store() -> None:
    graph = defs.resolve_asset_graph()
    upstream = graph.get(dg.AssetKey("policy_graph")).parent_keys
    assert dg.AssetKey("policies") in upstream
    ancestors = set(graph.upstream_key_iterator(dg.AssetKey("policy_search_index")))
    assert {dg.AssetKey("raw_announcements"), dg.AssetKey("staged_policies")} <= ancestors
    for store in ("policy_vectors", "policy_graph", "policy_search_index"):
        assert graph.get(dg.AssetKey(store)).backfill_policy == dg.BackfillPolicy.single_run()


def test_every_store_has_a_consistency_check_and_quality_blocks() -> None:
    graph = defs.resolve_asset_graph()
    check_names = {key.name for key in graph.asset_check_keys}
    assert {
        "policy_vectors_consistent_with_postgres",
        "policy_graph_consistent_with_postgres",
        "policy_search_index_consistent_with_postgres",
        "quality_expectations",
    } <= check_names
    quality_checks = graph.get(dg.AssetKey("policy_quality")).check_keys
    specs = defs.get_assets_def(dg.AssetKey("policy_quality")).check_specs
    assert quality_checks and all(spec.blocking for spec in specs)


def test_schedules_run_in_seoul_time() -> None:
    schedules = {s.name: s for s in defs.schedules or []}
    assert schedules["cold_path_hourly"].execution_timezone == "Asia/Seoul"
    assert all(s.execution_timezone == "Asia/Seoul" for s in schedules.values())


def test_dagster_definitions_validate_through_the_workspace(devstack: DevStack) -> None:
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **devstack.env()},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_aegis_shared_never_imports_dagster() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "aegis_shared").rglob("*.py")
        if any(
            line.strip().startswith(("import dagster", "from dagster"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []


STORES = ("policy_vectors", "policy_graph", "policy_search_index")


def test_each_store_sync_writes_through_its_own_pool() -> None:
    pools = {store: defs.get_assets_def(dg.AssetKey(store)).op.pool for store in STORES}
    assert pools == {
        "policy_vectors": "store_vectors",
        "policy_graph": "store_graph",
        "policy_search_index": "store_search",
    }
    # The repair job materializes the same assets, so it shares their pools.
    repair = defs.resolve_job_def("repair_stores_job")
    assert {name: repair.graph.node_named(name).definition.pool for name in STORES} == pools


def test_dagster_yaml_limits_every_pool_to_one_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert raw["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}
    # Dagster's own loader accepts the file (it refuses run limits in two places, for one).
    monkeypatch.setenv("AEGIS_DAGSTER_PG_URL", "postgresql://aegis@127.0.0.1:1/dagster")
    config, _ = dagster_instance_config(str(REPO))
    concurrency = ConcurrencyConfig.from_concurrency_settings(config["concurrency"], None)
    assert concurrency.pool_config.default_pool_limit == 1
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 4


def test_expiry_has_its_own_daily_job_outside_the_cold_path() -> None:
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("expired_policies"))
    assert node.parent_keys == {dg.AssetKey("policies")}
    assert node.partitions_def == daily_partitions
    for store in STORES:
        # So in expiry_job each sync runs after expiry and deletes what it archived.
        assert dg.AssetKey("expired_policies") in graph.get(dg.AssetKey(store)).parent_keys

    def selected(job: str) -> set[str]:
        return {k.to_user_string() for k in defs.resolve_job_def(job).asset_layer.selected_asset_keys}

    assert selected("expiry_job") == {"expired_policies", *STORES}
    assert "expired_policies" not in selected("cold_path_job")
    assert "expired_policies" not in selected("repair_stores_job")


def test_the_expiry_schedule_uses_the_seoul_day() -> None:
    schedule = next(s for s in defs.schedules or [] if s.name == "expiry_daily")
    assert schedule.job_name == "expiry_job" and schedule.execution_timezone == "Asia/Seoul"
    # 00:05 in Seoul on the 22nd is still the 21st in UTC: the partition is Seoul's day.
    tick = datetime(2026, 11, 22, 0, 5, tzinfo=ZoneInfo("Asia/Seoul"))
    with dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    ) as context:
        request = schedule.evaluate_tick(context).run_requests[0]  # type: ignore[index]
    assert request.partition_key == "2026-11-22"
    assert request.run_key == "expiry-2026-11-22"


def test_a_store_sync_waits_while_another_run_holds_its_pool(
    make_resources: Callable[..., dict[str, object]],
) -> None:
    """With dagster.yaml's pool settings, a second writer of one store waits for the first."""
    concurrency = yaml.safe_load((REPO / "dagster.yaml").read_text())["concurrency"]
    resources = make_resources()
    with dg.instance_for_test(overrides={"concurrency": concurrency}) as instance:
        storage = instance.event_log_storage
        assert storage.initialize_concurrency_limit_to_default("store_search")
        assert storage.get_concurrency_info("store_search").slot_count == 1
        # Another run is writing the search index.
        storage.claim_concurrency_slot("store_search", "other-run", "policy_search_index")
        results: list[dg.ExecuteInProcessResult] = []
        sync = threading.Thread(
            target=lambda: results.append(
                dg.materialize(
                    all_assets,
                    selection=["policy_search_index"],
                    resources=resources,
                    partition_key="2026-11-20",
                    instance=instance,
                )
            ),
            daemon=True,
        )
        try:
            sync.start()
            sync.join(timeout=8)
            assert sync.is_alive() and not results
            assert instance.get_latest_materialization_event(dg.AssetKey("policy_search_index")) is None
        finally:
            storage.free_concurrency_slots_for_run("other-run")
        sync.join(timeout=120)
        assert results and results[0].success
        assert instance.get_latest_materialization_event(dg.AssetKey("policy_search_index")) is not None
