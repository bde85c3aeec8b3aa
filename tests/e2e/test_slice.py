"""The whole lineage graph, materialized in process on the real local stack, as of a stated day.

Collection runs over real HTTP against the replay server, which re-anchors the bundled snapshot to
that day; every store is real (PostgreSQL, Milvus Lite, FalkorDB, tantivy) and Kafka events go to
the real broker. What the run must publish is computed here from the lifecycle rule and the
snapshot itself (parsed offline), never pinned from an earlier run's output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from aegis_orchestration.demo import RunSummary, materialize_window
from aegis_orchestration.resources import SourcesResource
from aegis_orchestration.sources.days import record_days
from aegis_orchestration.sources.replay import ReplayServer
from aegis_orchestration.sources.snapshot import anchor_shift, load_announcements
from aegis_shared.models import Announcement
from tests.aegis_orchestration.conftest import as_of

DAY = date(2026, 11, 20)
WINDOW_DAYS = 14
OFFLINE_KEY = "offline-replay-key"


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(port=0, anchor=DAY) as server:
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


def run(resources: dict[str, object]) -> RunSummary:
    with as_of(DAY):
        return materialize_window(
            DAY, resources, days=WINDOW_DAYS, instance=dg.DagsterInstance.ephemeral(), log_level="WARNING"
        )


@pytest.fixture(scope="module")
def first_run(resources: dict[str, object]) -> RunSummary:
    return run(resources)


def shifted(item: Announcement) -> Announcement:
    """The offline-parsed record with its dates moved as the replay server moves them."""
    delta = timedelta(days=anchor_shift(DAY))

    def move(day: date | None) -> date | None:
        return day + delta if day else None

    return item.model_copy(
        update={
            "period_start": move(item.period_start),
            "period_end": move(item.period_end),
            "registered_on": move(item.registered_on),
            "updated_on": move(item.updated_on),
        }
    )


@pytest.fixture(scope="module")
def expected() -> dict[str, Announcement]:
    """Every snapshot record whose registration or update day falls in the collected window."""
    window = {DAY - timedelta(days=n) for n in range(WINDOW_DAYS + 1)}
    records = [shifted(a) for a in load_announcements()]
    return {a.policy_id: a for a in records if set(record_days(a)) & window}


def policies(engine: sa.Engine) -> dict[str, sa.RowMapping]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM policies WHERE deleted_at IS NULL")).mappings().all()
    return {row["id"]: row for row in rows}


def holder_of(rows: dict[str, sa.RowMapping], source_id: str) -> sa.RowMapping | None:
    """The policy that publishes ``source_id``: its own row unless it was merged into another."""
    held = [r for r in rows.values() if source_id in r["source_ids"] and r["status"] != "archived"]
    return held[0] if held else rows.get(source_id)


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
                "collection_rejections",
            )
        } | {
            "policy_versions": conn.execute(
                sa.text("SELECT coalesce(sum(version), 0) FROM policies")
            ).scalar_one()
        }


def test_every_partition_and_check_runs(first_run: RunSummary) -> None:
    assert first_run.collection_failures == []
    assert first_run.cold_path_success, first_run.cold_path_failures
    assert first_run.checks and all(first_run.checks.values()), first_run.checks
    assert len(first_run.days) == WINDOW_DAYS + 1 and first_run.days[-1] == DAY.isoformat()
    assert {name.split(":")[1].split("@")[0] for name in first_run.checks} >= {
        "quality_expectations",
        "policy_vectors_consistent_with_postgres",
        "policy_graph_consistent_with_postgres",
        "policy_search_index_consistent_with_postgres",
    }


def test_every_record_of_the_window_is_published_or_rejected_nothing_is_lost(
    first_run: RunSummary, resources: dict[str, object], expected: dict[str, Announcement]
) -> None:
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    rows = policies(engine)
    with engine.connect() as conn:
        rejected = {
            f"{s}:{i}"
            for s, i in conn.execute(sa.text("SELECT source, source_id FROM collection_rejections"))
        }
        rejected |= set(
            conn.execute(
                sa.text("SELECT policy_id FROM processing_history WHERE stage = 'validation'")
            ).scalars()
        )
    published = {sid for r in rows.values() for sid in r["source_ids"]}
    missing = set(expected) - published - rejected
    assert expected and not missing, sorted(missing)


def test_ended_and_source_closed_programmes_are_archived_with_their_reason(
    first_run: RunSummary, resources: dict[str, object], expected: dict[str, Announcement]
) -> None:
    rows = policies(resources["postgres"].engine())  # type: ignore[attr-defined]
    ended = {pid for pid, a in expected.items() if a.period_end is not None and a.period_end < DAY}
    closed = {pid for pid, a in expected.items() if a.closed_by_source}
    assert ended and closed, "the snapshot has ended and closed programmes in the window"
    for pid in ended | closed:
        row = holder_of(rows, pid)
        if row is None:
            continue  # rejected at collection or validation (checked above)
        assert row["status"] == "archived", (pid, row["status"], row["status_reason"])
        why = "ended on" if pid in ended else "marks applications as closed"
        assert why in (row["status_reason"] or ""), (pid, row["status_reason"])
    archived = first_run.reasons_by_status.get("archived", {})
    assert archived.get("period_ended", 0) > 0 and archived.get("closed_by_source", 0) > 0


def test_every_active_policy_is_open_unclosed_and_good_enough(
    first_run: RunSummary, resources: dict[str, object]
) -> None:
    rows = policies(resources["postgres"].engine())  # type: ignore[attr-defined]
    active = [r for r in rows.values() if r["status"] == "active"]
    assert active, "the snapshot has open programmes in the window"
    for row in active:
        assert row["period_end"] is None or row["period_end"] >= DAY, row["id"]
        assert not row["closed_by_source"], row["id"]
        assert row["quality_score"] >= 0.7, row["id"]
        assert row["status_reason"].startswith("quality"), row["id"]
    for row in rows.values():
        assert row["status_reason"], row["id"]  # every status is explained


def test_cross_source_copies_merge_and_say_why(resources: dict[str, object], first_run: RunSummary) -> None:
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    rows = policies(engine)
    merged = [r for r in rows.values() if len({sid.split(":")[0] for sid in r["source_ids"]}) > 1]
    assert merged, "the snapshot announces programmes on several sources"
    with engine.connect() as conn:
        evidence = {
            pid: merges
            for pid, merges in conn.execute(
                sa.text(
                    "SELECT policy_id, details->'merges' FROM processing_history "
                    "WHERE stage = 'cold_path' AND jsonb_array_length(coalesce(details->'merges', '[]')) > 0"
                )
            )
        }
    for row in merged:
        assert row["id"] in evidence, row["id"]
        assert all({"title", "organization", "period"} <= set(m["matched"]) for m in evidence[row["id"]])


def test_every_store_holds_exactly_the_active_policies(first_run: RunSummary) -> None:
    active = first_run.policies_by_status["active"]
    assert len(set(first_run.store_counts.values())) == 1, first_run.store_counts
    assert next(iter(first_run.store_counts.values())) == active


def test_the_summary_shows_each_status_with_its_top_reasons(first_run: RunSummary) -> None:
    text = first_run.render()
    assert f"as of {DAY.isoformat()}" in text
    for status in ("active", "archived"):
        assert f"  {status}" in text
    assert "period_ended" in text and "quality_passed" in text


def test_rerun_is_idempotent(first_run: RunSummary, resources: dict[str, object]) -> None:
    before = _table_counts(resources["postgres"].engine())  # type: ignore[attr-defined]
    second = run(resources)
    assert second.ok
    assert second.policies_by_status == first_run.policies_by_status
    assert second.store_counts == first_run.store_counts
    after = _table_counts(resources["postgres"].engine())  # type: ignore[attr-defined]
    assert after == before
