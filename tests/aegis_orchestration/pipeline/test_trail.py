"""The status-change trail on real PostgreSQL: one change leaves its audit row, history row, stream
event and outbox event (keyed by version); a stage without an actor leaves only its stream event."""

from __future__ import annotations

import json

import sqlalchemy as sa

from aegis_orchestration.pipeline import tables
from aegis_orchestration.pipeline.policy_events import STATUS_CHANGED, StatusChange, policy_events
from aegis_orchestration.pipeline.trail import Transition, write_transitions
from aegis_shared.config import Settings
from aegis_shared.events import BundledSchemas
from aegis_shared.messaging import EventPublisher
from tests.aegis_orchestration.hot_path.helpers import Database

POLICY = "bizinfo:PBLN_000001"


def _archived(version: int) -> Transition:
    reasons = [{"code": "period_ended", "message": "application period ended on 2026-11-19"}]
    return Transition(
        StatusChange(POLICY, "active", "archived", version, "expiry", reasons, run_id="r1"),
        actor="aegis-expiry",
        audit={"reason": reasons[0]["message"]},
        history={"version": version, "reasons": reasons},
        quality={
            "policy_id": POLICY,
            "previous_status": "active",
            "status": "archived",
            "quality_score": 0.9,
            "scores": {"completeness": 1.0, "accuracy": 0.8, "consistency": 0.9, "timeliness": 0.9},
        },
    )


def _policy(db: Database, status: str, version: int) -> None:
    """The row whose status changes (the trail's rows reference it)."""
    row = {"id": POLICY, "source": "bizinfo", "source_id": "PBLN_000001", "title": "t", "content_hash": "h"}
    with db.engine.begin() as conn:
        conn.execute(sa.insert(tables.policies).values(**row, status=status, version=version))


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_one_change_leaves_every_part_of_its_trail(hp_settings: Settings, db: Database) -> None:
    _policy(db, "archived", 2)
    builder = EventPublisher(hp_settings.kafka_bootstrap, BundledSchemas(), settings=hp_settings)
    with builder as events, db.engine.begin() as conn:
        assert write_transitions(conn, [_archived(2)], events=events) == 1

    with db.engine.connect() as conn:
        audit = conn.execute(sa.select(tables.audit_logs)).mappings().one()
        history = conn.execute(sa.select(tables.processing_history)).mappings().one()
        outbox = conn.execute(sa.select(tables.event_outbox)).mappings().one()
    assert (audit["entity_id"], audit["actor"]) == (POLICY, "aegis-expiry")
    assert audit["old_values"] == {"status": "active"}
    assert audit["new_values"]["status"] == "archived" and audit["new_values"]["version"] == 2
    assert (history["policy_id"], history["stage"], history["status"]) == (POLICY, "expiry", "archived")
    event = json.loads(bytes(outbox["payload"]))
    assert event["eventType"] == "PolicyQualityUpdated" and event["data"]["status"] == "archived"
    # One event per policy version: a retry of the same change would not publish it twice.
    assert outbox["dedupe_key"] == f"PolicyQualityUpdated:{POLICY}:v2"
    stream = policy_events(db.engine, POLICY)
    assert [e.event_type for e in stream] == [STATUS_CHANGED]
    assert stream[0].data["reasons"][0]["code"] == "period_ended"


def test_a_stage_without_an_actor_leaves_only_its_stream_event(db: Database) -> None:
    _policy(db, "pending_validation", 1)
    change = StatusChange(POLICY, None, "pending_validation", 1, "hot_path", [{"code": "c", "message": "m"}])
    with db.engine.begin() as conn:
        assert write_transitions(conn, [Transition(change)]) == 0
    with db.engine.connect() as conn:
        counts = [
            _count(conn, t) for t in (tables.audit_logs, tables.processing_history, tables.event_outbox)
        ]
    assert counts == [0, 0, 0]
    assert [e.data["status"] for e in policy_events(db.engine, POLICY)] == ["pending_validation"]
