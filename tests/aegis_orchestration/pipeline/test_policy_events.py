"""Policy streams on the real stack: hot-path staging, a cold-path run and expiry each append their
status changes and merges to the policy's stream; the projected status history matches PostgreSQL's
rows (and their audit trail), rebuilt or incremental; ``aegis pipeline explain`` answers from it."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from aegis_orchestration.cli import main
from aegis_orchestration.definitions import all_assets
from aegis_orchestration.hot_path.processor import HotPathProcessor
from aegis_orchestration.partitions import daily_partitions
from aegis_orchestration.pipeline.policy_events import (
    SOURCES_MERGED,
    STATUS_CHANGED,
    policy_events,
    rebuild_status_history,
    update_status_history,
)
from aegis_orchestration.resources import PostgresResource
from aegis_orchestration.sources.landing import insert_changed
from aegis_shared.config import Settings, get_settings
from tests.aegis_orchestration.hot_path.helpers import Database, announcement
from tests.aegis_orchestration.hot_path.test_staging import _records

# Hot-path records are finished by the newest partition's run; decisions use the session's as-of
# day (2026-11-20) whatever the partition.
DAY = daily_partitions.get_last_partition_key()
EXPIRY_DAY = "2026-11-26"
PROGRAMME = "2026년 창업도약패키지 지원사업 공고"

MERGED = "kstartup:176001"  # staged by the hot path, then found to be bizinfo:PBLN_000001's programme
SURVIVOR = "bizinfo:PBLN_000001"
ENDED = "bizinfo:PBLN_000002"  # already over when staged
EXPIRING = "bizinfo:PBLN_000003"  # open on DAY, over by EXPIRY_DAY
REFUSED = "bizinfo:PBLN_000004"  # passes the hot path's basic check, fails full validation
COLLECTED = "mss:M-1"  # first seen by the cold path


def rows(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT id, status FROM policies")).all())


def projected(engine: sa.Engine) -> dict[str, list[tuple[str | None, str, str]]]:
    """policy id -> [(previous status, status, stage), ...] from the read model, in stream order."""
    history: dict[str, list[tuple[str | None, str, str]]] = defaultdict(list)
    with engine.connect() as conn:
        for r in conn.execute(
            sa.text(
                "SELECT policy_id, previous_status, status, stage FROM policy_status_history "
                "ORDER BY policy_id, stream_version"
            )
        ):
            history[r.policy_id].append((r.previous_status, r.status, r.stage))
    return dict(history)


def audited(engine: sa.Engine) -> dict[str, list[tuple[str | None, str]]]:
    """policy id -> [(old status, new status), ...] from audit_logs, in write order."""
    trail: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    with engine.connect() as conn:
        for r in conn.execute(
            sa.text(
                "SELECT entity_id, old_values, new_values FROM audit_logs "
                "WHERE action = 'status_changed' ORDER BY id"
            )
        ):
            trail[r.entity_id].append((r.old_values.get("status"), r.new_values["status"]))
    return dict(trail)


def table(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM policy_status_history ORDER BY 1, 2"))]


def check_against_rows(engine: sa.Engine) -> dict[str, list[tuple[str | None, str, str]]]:
    """The projection's latest status of every policy is its row's; its changes are the audited ones."""
    history = projected(engine)
    assert {pid: changes[-1][1] for pid, changes in history.items()} == rows(engine)
    for pid, changes in history.items():
        assert all(a[1] == b[0] for a, b in pairwise(changes)), pid  # a chain
    audited_changes = {
        pid: [(old, new) for old, new, stage in changes if stage != "hot_path" and stage != "validation"]
        for pid, changes in history.items()
    }
    assert {pid: c for pid, c in audited_changes.items() if c} == audited(engine)
    incremental = table(engine)
    rebuild_status_history(engine)
    assert table(engine) == incremental
    return history


def materialize(resources: dict[str, object], selection: dg.AssetSelection, day: str) -> None:
    result = dg.materialize(
        all_assets,
        selection=selection,
        resources=resources,
        partition_key=day,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success


@dataclass(frozen=True)
class Lived:
    db: Database
    resources: dict[str, object]

    @property
    def engine(self) -> sa.Engine:
        return self.db.engine


@pytest.fixture
def lived(hp_settings: Settings, db: Database, make_resources: Callable[..., dict[str, object]]) -> Lived:
    """Hot path, then a cold-path run, on one database: the state the projection is checked after."""
    staged = [
        announcement(1, title=PROGRAMME),
        announcement(176001, source="kstartup", source_id="176001", title=PROGRAMME),
        announcement(2, period_start=date(2026, 10, 1), period_end=date(2026, 11, 19)),
        announcement(3, title="2026년 수출바우처 지원사업 공고", period_end=date(2026, 11, 25)),
        announcement(4, title="2026년 스마트공방 지원사업 공고", url="javascript:alert(1)"),
    ]
    with HotPathProcessor(db.engine, hp_settings) as processor:
        processor.stage(_records(hp_settings, staged))
    with db.engine.begin() as conn:
        insert_changed(
            conn,
            [announcement(9, source="mss", source_id="M-1", title="2026년 스마트상점 기술보급 사업 공고")],
            date.fromisoformat(DAY),
        )
    resources = make_resources(postgres=PostgresResource(url=db.url))
    materialize(resources, dg.AssetSelection.groups("cold_path"), DAY)
    return Lived(db, resources)


def test_the_projected_status_history_matches_postgres_after_the_cold_path_and_after_expiry(
    lived: Lived,
) -> None:
    engine = lived.engine
    assert rows(engine) == {
        SURVIVOR: "active",
        MERGED: "archived",
        ENDED: "archived",
        EXPIRING: "active",
        REFUSED: "rejected",
        COLLECTED: "active",
    }
    # The cold-path asset kept the read model up to date: no catching up is left to do.
    assert update_status_history(engine) == 0
    history = check_against_rows(engine)
    assert history[MERGED] == [
        (None, "pending_validation", "hot_path"),
        ("pending_validation", "archived", "dedup"),
    ]
    assert history[ENDED] == [(None, "archived", "hot_path")]
    assert history[REFUSED] == [
        (None, "pending_validation", "hot_path"),
        ("pending_validation", "rejected", "validation"),
    ]
    assert history[COLLECTED] == [(None, "active", "cold_path")]

    merges = [e for e in policy_events(engine, SURVIVOR) if e.event_type == SOURCES_MERGED]
    assert [(m.data["added"], m.data["merges"][0]["member"]) for m in merges] == [([MERGED], MERGED)]
    merged_into = [e.data for e in policy_events(engine, MERGED) if e.data["status"] == "archived"]
    assert merged_into[0]["merged_into"] == SURVIVOR and merged_into[0]["reasons"][0]["code"] == "merged_into"

    materialize(lived.resources, dg.AssetSelection.assets("expired_policies"), EXPIRY_DAY)
    assert rows(engine)[EXPIRING] == "archived"
    history = check_against_rows(engine)
    assert history[EXPIRING] == [
        (None, "pending_validation", "hot_path"),
        ("pending_validation", "active", "cold_path"),
        ("active", "archived", "expiry"),
    ]
    assert history[SURVIVOR][-1] == ("pending_validation", "active", "cold_path")  # open until 12-31

    # A re-run of the same day changes no row, so it appends no event.
    before = table(engine)
    materialize(lived.resources, dg.AssetSelection.groups("cold_path"), DAY)
    assert table(engine) == before


def test_explain_answers_from_the_policys_event_stream(lived: Lived, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_POSTGRES_URL", lived.db.url)
    get_settings.cache_clear()
    try:
        text = CliRunner().invoke(main, ["pipeline", "explain", MERGED])
        as_json = CliRunner().invoke(main, ["pipeline", "explain", SURVIVOR, "--json"])
    finally:
        get_settings.cache_clear()
    assert text.exit_code == 0, text.output
    # The absorbed record's own stream: staged by the hot path, archived into the survivor.
    assert "status   archived" in text.output and "trail    (from event_store)" in text.output
    assert "new → pending_validation" in text.output
    assert "pending_validation → archived" in text.output and f"merged into {SURVIVOR}" in text.output
    data = json.loads(as_json.output)
    assert data["trail_source"] == "event_store"
    assert [(s["event"], s["status"]) for s in data["trail"]] == [
        (STATUS_CHANGED, "pending_validation"),
        (STATUS_CHANGED, "active"),
        (SOURCES_MERGED, "active"),
    ]
    assert [s["stream_version"] for s in data["trail"]] == [1, 2, 3]
    assert data["trail"][2]["reasons"][0].startswith(f"{MERGED} merged in (same title")
