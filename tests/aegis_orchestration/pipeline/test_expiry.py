"""Expiry on real PostgreSQL and the real event schemas: ended periods leave, everything else stays."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa

from aegis_orchestration.pipeline.expiry import expire_policies
from aegis_orchestration.resources import KafkaResource
from aegis_shared.config import Settings
from aegis_shared.messaging import EventPublisher
from tests.aegis_orchestration.hot_path.helpers import Database

AS_OF = date(2026, 11, 22)

# id -> (status, period_end, open-ended, closed by its source)
POLICIES: dict[str, tuple[str, date | None, bool, bool]] = {
    "p:ended-yesterday": ("active", date(2026, 11, 21), False, False),
    "p:ended-long-ago": ("active", date(2025, 3, 31), False, False),
    "p:ends-today": ("active", date(2026, 11, 22), False, False),
    "p:future": ("active", date(2027, 1, 31), False, False),
    "p:open-ended": ("active", None, True, False),
    "p:no-end": ("active", None, False, False),
    "p:rejected-ended": ("rejected", date(2026, 11, 1), False, False),
    "p:pending-ended": ("pending_validation", date(2026, 11, 1), False, False),
    "p:source-closed": ("active", date(2027, 1, 31), False, True),
}
EXPIRED = ["p:ended-long-ago", "p:ended-yesterday", "p:source-closed"]
ENDED = ["p:ended-long-ago", "p:ended-yesterday"]


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO policies (id, source, source_id, title, status, content_hash, period_end, "
                "period_open_ended, closed_by_source, quality_score, version) "
                "VALUES (:id, 'kstartup', :id, '지원사업', :status, 'h', :end, :open, :closed, 0.8, 3)"
            ),
            [
                {"id": pid, "status": status, "end": end, "open": open_ended, "closed": closed}
                for pid, (status, end, open_ended, closed) in POLICIES.items()
            ],
        )
        # Two scorings of one policy: its event repeats the latest.
        conn.execute(
            sa.text(
                "INSERT INTO quality_metrics (policy_id, completeness, accuracy, consistency, timeliness, "
                "total, run_id) VALUES ('p:ended-yesterday', :c, 1, 1, :t, :total, :run)"
            ),
            [
                {"c": 0.5, "t": 0.5, "total": 0.7, "run": "old"},
                {"c": 1.0, "t": 0.5, "total": 0.9, "run": "new"},
            ],
        )
    return db


@pytest.fixture
def events(hp_settings: Settings) -> Iterator[EventPublisher]:
    kafka = KafkaResource(bootstrap=hp_settings.kafka_bootstrap, env=hp_settings.env)
    with kafka.publisher() as publisher:
        yield publisher


def statuses(engine: sa.Engine) -> dict[str, tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, status, version FROM policies")).all()
    return {row.id: (row.status, row.version) for row in rows}


def trail(engine: sa.Engine) -> tuple[list, list, list]:
    with engine.connect() as conn:
        history = conn.execute(
            sa.text("SELECT policy_id, stage, status, details, run_id FROM processing_history ORDER BY id")
        ).all()
        audits = conn.execute(
            sa.text("SELECT entity_id, action, actor, old_values, new_values FROM audit_logs ORDER BY id")
        ).all()
        outbox = conn.execute(sa.text("SELECT dedupe_key, payload FROM event_outbox ORDER BY id")).all()
    return [tuple(r) for r in history], [tuple(r) for r in audits], [tuple(r) for r in outbox]


def test_only_active_policies_whose_period_ended_are_archived(seeded: Database) -> None:
    report = expire_policies(seeded.engine, AS_OF, run_id="run-1")
    assert report.archived == EXPIRED
    after = statuses(seeded.engine)
    for pid, (status, *_) in POLICIES.items():
        assert after[pid] == (("archived", 4) if pid in EXPIRED else (status, 3)), pid


def test_history_audit_and_outbox_rows_are_written_with_the_change(
    seeded: Database, events: EventPublisher
) -> None:
    report = expire_policies(seeded.engine, AS_OF, run_id="run-1", events=events)
    assert report.events == 3
    history, audits, outbox = trail(seeded.engine)
    assert [(*h[:3], h[4]) for h in history] == [(pid, "expiry", "archived", "run-1") for pid in EXPIRED]
    details = {h[0]: h[3] for h in history}
    for pid in ENDED:
        end = POLICIES[pid][1].isoformat()  # type: ignore[union-attr]
        assert details[pid]["reason"] == "period_ended"
        assert details[pid]["period_end"] == end and details[pid]["as_of"] == "2026-11-22"
        assert f"ended on {end}, before 2026-11-22" in details[pid]["reasons"][0]["message"]
    assert details["p:source-closed"]["reasons"] == [
        {"code": "closed_by_source", "message": "kstartup marks applications as closed"}
    ]
    assert [(a[0], a[1], a[2], a[3], a[4]["status"], a[4]["version"]) for a in audits] == [
        (pid, "status_changed", "aegis-expiry", {"status": "active"}, "archived", 4) for pid in EXPIRED
    ]
    assert [row[0] for row in outbox] == [f"PolicyQualityUpdated:{pid}:v4" for pid in EXPIRED]
    envelopes = {json.loads(bytes(row[1]))["data"]["policy_id"]: json.loads(bytes(row[1])) for row in outbox}
    data = envelopes["p:ended-yesterday"]["data"]
    assert envelopes["p:ended-yesterday"]["eventType"] == "PolicyQualityUpdated"
    assert (data["previous_status"], data["status"], data["quality_score"]) == ("active", "archived", 0.8)
    assert data["scores"] == {"completeness": 1.0, "accuracy": 1.0, "consistency": 1.0, "timeliness": 0.5}
    # No metrics row: the stored total stands in for each dimension.
    assert set(envelopes["p:ended-long-ago"]["data"]["scores"].values()) == {0.8}


def test_a_rerun_changes_nothing(seeded: Database, events: EventPublisher) -> None:
    expire_policies(seeded.engine, AS_OF, run_id="run-1", events=events)
    before = (statuses(seeded.engine), trail(seeded.engine))
    report = expire_policies(seeded.engine, AS_OF, run_id="run-2", events=events)
    assert (report.archived, report.events) == ([], 0)
    assert (statuses(seeded.engine), trail(seeded.engine)) == before


def test_the_as_of_day_decides_and_today_is_still_open(seeded: Database) -> None:
    assert expire_policies(seeded.engine, date(2026, 11, 21), run_id="r").archived == [
        "p:ended-long-ago",
        "p:source-closed",
    ]
    assert expire_policies(seeded.engine, AS_OF, run_id="r").archived == ["p:ended-yesterday"]
    assert expire_policies(seeded.engine, date(2026, 11, 23), run_id="r").archived == ["p:ends-today"]


def test_an_archived_policy_says_why_on_its_row(seeded: Database) -> None:
    expire_policies(seeded.engine, AS_OF, run_id="r")
    with seeded.engine.connect() as conn:
        reasons = dict(conn.execute(sa.text("SELECT id, status_reason FROM policies")).all())
    assert reasons["p:ended-yesterday"] == (
        "application period ended on 2026-11-21, before 2026-11-22 (Asia/Seoul)"
    )
    assert reasons["p:source-closed"] == "kstartup marks applications as closed"
    assert reasons["p:future"] is None  # untouched rows keep what they had
