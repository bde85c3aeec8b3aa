"""What a data engineer sees in the Dagster UI of `make dev`, checked in a real browser.

The tests run in order on one `dagster dev`. Each saves screenshots (see the conftest); lineage and
backfill are the README's.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from aegis_orchestration.definitions import defs
from aegis_orchestration.partitions import SOURCES
from aegis_orchestration.sources.snapshot import today_in_seoul
from tests.aegis_orchestration.ui.conftest import DagsterUI, screenshot, wait_for

# The first test also waits for the session's stack and `dagster dev`; the backfill runs 15 runs.
pytestmark = pytest.mark.timeout(1800)

# The replay server anchors the snapshot so its newest day is yesterday (Asia/Seoul).
LAST_DAY = today_in_seoul() - timedelta(days=1)
DAYS = [(LAST_DAY - timedelta(days=n)).isoformat() for n in (2, 1, 0)]


def _asset_graph():
    graph = defs.resolve_asset_graph()
    checks: dict[str, int] = {}
    for check_key in graph.asset_check_keys:
        asset = check_key.asset_key.to_user_string()
        checks[asset] = checks.get(asset, 0) + 1
    assets = sorted(key.to_user_string() for key in graph.get_all_asset_keys())
    return assets, checks


def test_lineage_shows_every_asset_and_its_checks(dagster_ui: DagsterUI, page) -> None:
    assets, checks = _asset_graph()
    # Wide enough that, with every group expanded, each node is drawn in full (name, checks).
    page.set_viewport_size({"width": 3600, "height": 1400})
    page.goto(f"{dagster_ui.url}/asset-groups")
    page.get_by_text("collection", exact=True).first.wait_for()
    page.keyboard.press("Alt+e")  # "Expand all groups"
    graph = page.locator("foreignObject")
    for asset in assets:
        node = graph.filter(has=page.get_by_text(asset, exact=True)).last
        node.wait_for()
        expected = f"0 / {checks[asset]}" if asset in checks else "–"
        # The row shows "–" until the check results have loaded.
        expect(node.get_by_text("Asset checks").locator("xpath=..")).to_contain_text(expected)
    screenshot(page, "lineage", readme=True)


def test_backfill_launched_by_clicking_materializes_every_partition(dagster_ui: DagsterUI, page) -> None:
    page.goto(f"{dagster_ui.url}/assets/raw_announcements")
    page.locator("button", has_text="Materialize…").first.click()
    dialog = page.get_by_role("dialog")
    dates = dialog.get_by_placeholder(re.compile("^ex: "))
    dates.fill(f"[{DAYS[0]}...{DAYS[-1]}]")
    dates.press("Enter")
    dialog.get_by_role("button", name="All", exact=True).last.click()  # every source
    expected = len(DAYS) * len(SOURCES)
    dialog.get_by_text(f"{expected} partitions", exact=True).wait_for()
    screenshot(page, "backfill-dialog")
    dialog.get_by_role("button", name="Launch backfill").click()
    toast = page.get_by_text(re.compile(r"^Created backfill \w+"))
    backfill_id = toast.inner_text().split()[-1]

    status = wait_for(
        lambda: (
            _backfill_status(dagster_ui, backfill_id) not in {"REQUESTED", "CANCELING"}
            and _backfill_status(dagster_ui, backfill_id)
        ),
        timeout=900,
        what=f"backfill {backfill_id} did not finish",
        interval=10,
    )
    page.goto(f"{dagster_ui.url}/runs/b/{backfill_id}")
    page.get_by_text("Partition selection").first.wait_for()
    status_cell = page.get_by_text("Status", exact=True).first.locator("xpath=..")
    wait_for(lambda: "In progress" not in status_cell.inner_text(), timeout=120, what="backfill page status")
    screenshot(page, "backfill", readme=True)
    assert status == "COMPLETED_SUCCESS", status
    assert "Succeeded" in status_cell.inner_text(), status_cell.inner_text()
    assert f"{expected} partitions" in page.inner_text("body")


def _backfill_status(ui: DagsterUI, backfill_id: str) -> str:
    data = ui.graphql(
        "query($id: String!) { partitionBackfillOrError(backfillId: $id) { "
        "... on PartitionBackfill { status } } }",
        {"id": backfill_id},
    )
    return data["partitionBackfillOrError"]["status"]
