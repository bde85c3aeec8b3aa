"""Another team's code location (``examples/weekly_reports``) beside ours: its weekly report depends
on our ``policies`` asset by key, the workspace (what the Dagster UI serves) links the two lineages,
and the report counts what our cold path wrote to the real PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from aegis_orchestration.definitions import all_assets
from aegis_orchestration.definitions import defs as aegis_defs
from aegis_orchestration.sources.landing import insert_changed
from tests.aegis_orchestration.conftest import as_of
from tests.aegis_orchestration.hot_path.helpers import announcement
from tests.examples.conftest import load_example

REPO = Path(__file__).resolve().parents[2]
partner = load_example("weekly_reports/definitions.py")
REPORT = dg.AssetKey("weekly_policy_report")
POLICIES = dg.AssetKey("policies")

DAY = "2026-11-20"  # a Friday: its Seoul week starts on Monday 2026-11-16
WEEK, PREVIOUS_WEEK = "2026-11-16", "2026-11-09"

LINEAGE = """
{
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    isMaterializable
    repository { location { name } }
  }
}
"""


def test_the_report_depends_on_our_policies_asset_by_key_only() -> None:
    graph = partner.defs.resolve_asset_graph()
    assert graph.get(REPORT).parent_keys == {POLICIES}
    # The other team declares our asset without defining it; ours is the one that materializes.
    assert not graph.get(POLICIES).is_materializable
    assert aegis_defs.resolve_asset_graph().get(POLICIES).is_materializable
    assert graph.get(REPORT).partitions_def == partner.weekly
    schedule = partner.defs.get_repository_def().get_schedule_def("weekly_policy_report_job_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 7 * * 1", "Asia/Seoul")


@pytest.mark.slow  # loads both code locations out of process
def test_the_workspace_links_the_report_to_our_lineage() -> None:
    """What the Dagster UI shows: both locations load, and the edge crosses from `aegis` to theirs."""
    with (
        dg.instance_for_test() as instance,
        define_out_of_process_context(str(REPO / "workspace.yaml"), None, instance) as context,
    ):
        result = execute_dagster_graphql(context, LINEAGE)
    assert not result.errors, result.errors
    nodes = {
        (tuple(n["assetKey"]["path"]), n["repository"]["location"]["name"]): n
        for n in result.data["assetNodes"]
    }
    report = nodes[(("weekly_policy_report",), "partner_reports")]
    assert {"path": ["policies"]} in report["dependencyKeys"]
    assert nodes[(("policies",), "aegis")]["isMaterializable"]
    # Our own lineage up to policies is intact in the same workspace.
    assert {"path": ["policy_quality"]} in nodes[(("policies",), "aegis")]["dependencyKeys"]


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.get_asset_materialization_events()
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def test_the_weekly_report_counts_the_policies_our_pipeline_wrote(
    make_resources: Callable[..., dict[str, object]],
) -> None:
    resources = make_resources()
    collected = datetime.fromisoformat(DAY).replace(hour=1, tzinfo=UTC)
    items = [
        announcement(1, title="2026년 창업도약패키지 지원사업 공고", collected_at=collected),
        announcement(
            2,
            source="kstartup",
            source_id="176002",
            title="2026년 수출바우처 지원사업 공고",
            collected_at=collected,
        ),
    ]
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    instance = dg.DagsterInstance.ephemeral()
    with as_of(date.fromisoformat(DAY)):
        with engine.begin() as conn:
            insert_changed(conn, items, date.fromisoformat(DAY))
        ours = dg.materialize(
            all_assets,
            selection=dg.AssetSelection.groups("cold_path"),
            resources=resources,
            partition_key=DAY,
            instance=instance,
        )
    assert ours.success
    with engine.connect() as conn:
        written = conn.execute(sa.text("SELECT source, status FROM policies WHERE deleted_at IS NULL")).all()
    assert sorted(source for source, _ in written) == ["bizinfo", "kstartup"]

    def report(week: str) -> dict[str, Any]:
        result = dg.materialize(
            [partner.weekly_policy_report],
            partition_key=week,
            resources={"postgres": resources["postgres"]},
            instance=instance,
        )
        assert result.success
        return _metadata(result)

    this_week = report(WEEK)
    assert this_week["policies"] == 2
    assert this_week["by_source"] == {"bizinfo": 1, "kstartup": 1}
    assert this_week["by_status"] == dict(Counter(status for _, status in written))
    assert "| bizinfo |" in this_week["report"] and "| kstartup |" in this_week["report"]
    assert report(PREVIOUS_WEEK)["policies"] == 0
    # Both lineages materialized on one instance: our policies partition, then their week.
    assert instance.get_latest_materialization_event(POLICIES) is not None
    assert instance.get_latest_materialization_event(REPORT) is not None
