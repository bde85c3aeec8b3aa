"""Every definition loads, the lineage graph is whole, and Dagster's own validation passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from aegis_orchestration.definitions import defs
from aegis_orchestration.devstack import DevStack

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
