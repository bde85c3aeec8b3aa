"""What an operator checks next in the Dagster UI of `make dev`: quality, schedules, a failed run.

Same `dagster dev` as the lineage and backfill tests (the session's ``dagster_ui``), its own
Chromium (the browser fixture is module-scoped on purpose, see the conftest). Runs are launched
through Dagster's GraphQL API, as the launchpad would; what is asserted is what the UI shows.
The quality page is one of the README's screenshots.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from aegis_orchestration.definitions import defs
from aegis_orchestration.partitions import SOURCES
from aegis_orchestration.sources.snapshot import today_in_seoul
from aegis_shared.models import PolicyStatus
from tests.aegis_orchestration.ui.conftest import DagsterUI, screenshot

pytestmark = pytest.mark.timeout(1800)

LOCATION = "aegis"
# The replay server anchors the snapshot so its newest day is yesterday (Asia/Seoul); the two
# days before it are collected by the backfill test too, so a full run collects nothing twice.
LAST_DAY = today_in_seoul() - timedelta(days=1)
QUALITY_DAYS = [(LAST_DAY - timedelta(days=n)).isoformat() for n in (1, 0)]
COLD_PATH = ["validated_announcements", "deduplicated_announcements", "policy_quality"]


def test_policy_quality_page_shows_the_histogram_and_plotted_metadata(dagster_ui: DagsterUI, page) -> None:
    collect(dagster_ui, QUALITY_DAYS)
    run_ids = [
        dagster_ui.launch(
            "__ASSET_JOB",
            partition=day,
            assets=COLD_PATH,
            checks=[("policy_quality", "quality_expectations")],
        )
        for day in QUALITY_DAYS
    ]
    for run_id in run_ids:
        assert dagster_ui.wait_for_run(run_id) == "SUCCESS", dagster_ui.run_failure(run_id)
    newest = QUALITY_DAYS[-1]
    metadata = dagster_ui.materialization_metadata("policy_quality", newest)
    counts = {status.value: int(metadata[status.value]) for status in _DECIDED}
    policies = int(metadata["policies"])
    assert sum(counts.values()) == policies > 0, metadata

    # The day's materialization as the Partitions tab shows it: the policies, the count per
    # status and the mean score, and the score histogram with every policy in one bucket.
    page.set_viewport_size({"width": 1600, "height": 1400})
    page.goto(f"{dagster_ui.url}/assets/policy_quality?view=partitions&partition={newest}")
    for key, value in {"policies": policies, **counts}.items():
        expect(_metadata_value(page, key)).to_have_text(str(value))
    mean = _metadata_value(page, "mean_total")
    expect(mean).to_have_text(re.compile(r"^[01](\.\d+)?$"))
    shown = float(mean.inner_text())
    assert shown == pytest.approx(float(metadata["mean_total"])) and 0 < shown <= 1, shown
    histogram = _metadata_value(page, "score_histogram")
    expect(histogram).to_contain_text("active from")
    buckets = [int(n) for n in re.findall(r"\d\.\d–\d\.\d\s+(\d+)", histogram.inner_text())]
    assert len(buckets) == 10 and sum(buckets) == policies, histogram.inner_text()
    screenshot(page, "quality", readme=True)

    # The Overview's metadata plots draw each numeric key over the materialized days.
    page.set_viewport_size({"width": 1600, "height": 2400})
    page.goto(f"{dagster_ui.url}/assets/policy_quality?view=overview")
    page.get_by_role("button", name="Plots").click()
    for key in ("policies", *counts, "mean_total"):
        # The innermost block holding both the key's title and a chart is that key's plot.
        title = page.get_by_text(key, exact=True)
        plot = page.locator("div", has=title).filter(has=page.locator("canvas")).last
        expect(plot.locator("canvas")).to_have_count(1)
        expect(plot.get_by_text(key, exact=True)).to_be_visible()
    screenshot(page, "quality-plots")


def test_schedules_run_in_asia_seoul(dagster_ui: DagsterUI, page) -> None:
    schedules = sorted(s.name for s in defs.schedules or [])
    assert schedules
    for name in schedules:
        page.goto(f"{dagster_ui.url}/locations/{LOCATION}/schedules/{name}")
        expect(_detail_row(page, "Execution timezone")).to_contain_text("Asia/Seoul")
        # The next tick is shown in the schedule's own zone, whatever the browser's.
        expect(_detail_row(page, "Next tick")).to_contain_text("GMT+9")
        if name == "cold_path_hourly":
            screenshot(page, "schedules")


def test_failed_run_shows_its_error_code_and_message(dagster_ui: DagsterUI, page) -> None:
    # bizinfo pointed at a closed port, one attempt: the source cannot be reached.
    day = (LAST_DAY - timedelta(days=30)).isoformat()
    run_id = dagster_ui.launch(
        "collection_job",
        partition=f"{day}|bizinfo",
        dimensions={"date": day, "source": "bizinfo"},
        run_config={
            "resources": {
                "sources": {"config": {"bizinfo_base_url": "http://127.0.0.1:9", "retry_attempts": 1}}
            }
        },
    )
    assert dagster_ui.wait_for_run(run_id) == "FAILURE"

    page.goto(f"{dagster_ui.url}/runs/{run_id}")
    expect(page.get_by_text("Failure", exact=True).first).to_be_visible()
    error = page.get_by_text(re.compile(r"\[DP_1001\] cannot reach bizinfo")).first
    error.scroll_into_view_if_needed()
    expect(error).to_be_visible()
    screenshot(page, "failed-run")


_DECIDED = (PolicyStatus.ACTIVE, PolicyStatus.ARCHIVED, PolicyStatus.REJECTED)


def _metadata_value(page, key: str):
    """The value cell of one metadata key in the materialization's table."""
    return page.locator("tr", has=page.get_by_text(key, exact=True)).first.locator("td").nth(1)


def _detail_row(page, label: str):
    return page.locator("tr", has=page.get_by_text(label, exact=True)).first


def collect(ui: DagsterUI, days: list[str]) -> None:
    """Materialize every source's collection partition of ``days`` that is not yet."""
    missing = [
        (day, source)
        for day in days
        for source in SOURCES
        if not ui.materialization_metadata("raw_announcements", f"{day}|{source}", required=False)
    ]
    run_ids = [
        ui.launch(
            "collection_job",
            partition=f"{day}|{source}",
            dimensions={"date": day, "source": source},
        )
        for day, source in missing
    ]
    for run_id in run_ids:
        assert ui.wait_for_run(run_id) == "SUCCESS", ui.run_failure(run_id)
