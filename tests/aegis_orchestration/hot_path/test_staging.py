"""Staging against real PostgreSQL: never downgrading the cold path's work, and the outbox relay."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from aegis_orchestration.hot_path.intake import SourceRecord
from aegis_orchestration.hot_path.processor import HotPathProcessor
from aegis_orchestration.pipeline.outbox import pending_count
from aegis_orchestration.pipeline.policies import load_pending
from aegis_shared.config import Settings
from aegis_shared.events import BundledSchemas
from aegis_shared.messaging import EventPublisher
from aegis_shared.models import Announcement
from tests.aegis_orchestration.conftest import AS_OF
from tests.aegis_orchestration.hot_path.helpers import Database, announcement, policy_rows, read_events


def _records(settings: Settings, items: list[Announcement], first_offset: int = 0) -> list[SourceRecord]:
    from aegis_orchestration.pipeline.collection import collected_events

    with EventPublisher(settings.kafka_bootstrap, BundledSchemas(), settings=settings) as publisher:
        envelopes = [publisher.build(e.event_type, e.data) for e in collected_events(items)]
    return [
        SourceRecord(settings.topic("collection"), 0, first_offset + i, a.policy_id.encode(), e.to_bytes())
        for i, (a, e) in enumerate(zip(items, envelopes, strict=True))
    ]


def _activate(db: Database, policy_id: str) -> None:
    """What the cold path does to a policy it scores as active."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE policies SET status = 'active', quality_score = 0.9, version = 2 WHERE id = :id"),
            {"id": policy_id},
        )


def test_rows_the_cold_path_finished_are_never_downgraded(hp_settings: Settings, db: Database) -> None:
    with HotPathProcessor(db.engine, hp_settings) as processor:
        processor.process(_records(hp_settings, [announcement(1), announcement(2)]))
        _activate(db, "bizinfo:PBLN_000001")
        again = processor.process(_records(hp_settings, [announcement(1)], first_offset=2))
        assert again.stage.unchanged == 1 and again.published == 0
        row = policy_rows(db.engine)["bizinfo:PBLN_000001"]
        assert row[1:3] == (2, "active") and row[4] == 0.9
        # Changed content is new work for the cold path, staged beside the served version.
        changed = announcement(1, title="[변경] 공고")
        result = processor.process(_records(hp_settings, [changed], first_offset=3))
    assert result.stage.updated == 1 and result.stage.staged_beside_active == 1 and result.published == 1
    served = announcement(1)
    row = policy_rows(db.engine)["bizinfo:PBLN_000001"]
    # Still served as it was: same content, status and score, until the cold path decides.
    assert row == (served.content_hash, 3, "active", served.title, 0.9)
    pending = {a.policy_id: a for a in load_pending(db.engine)}
    assert set(pending) == {"bizinfo:PBLN_000001", "bizinfo:PBLN_000002"}
    assert pending["bizinfo:PBLN_000001"].title == "[변경] 공고"
    assert pending["bizinfo:PBLN_000001"].content_hash == changed.content_hash
    events = read_events(hp_settings, 3)
    assert sorted((e["data"]["policy_id"], e["data"]["version"]) for e in events) == [
        ("bizinfo:PBLN_000001", 1),
        ("bizinfo:PBLN_000001", 3),
        ("bizinfo:PBLN_000002", 1),
    ]
    assert all(e["data"]["processing_path"] == "hot" and e["causationId"] for e in events)


def test_a_served_policy_stays_in_the_stores_while_its_change_is_staged(
    hp_settings: Settings, db: Database
) -> None:
    from aegis_orchestration.pipeline.serving import serving_fingerprints

    with HotPathProcessor(db.engine, hp_settings) as processor:
        processor.process(_records(hp_settings, [announcement(1)]))
        _activate(db, "bizinfo:PBLN_000001")
        before = serving_fingerprints(db.engine, "d")
        processor.process(_records(hp_settings, [announcement(1, summary="지원 규모가 바뀌었습니다.")], 1))
    assert set(before) == {"bizinfo:PBLN_000001"}
    assert serving_fingerprints(db.engine, "d") == before


def test_a_change_that_closes_a_served_policy_takes_it_out_of_serving_at_once(
    hp_settings: Settings, db: Database
) -> None:
    with HotPathProcessor(db.engine, hp_settings) as processor:
        processor.process(_records(hp_settings, [announcement(1), announcement(2)]))
        _activate(db, "bizinfo:PBLN_000001")
        closed = announcement(1, closed_by_source=True)
        ended = announcement(3, period_start=date(2026, 10, 1), period_end=AS_OF - timedelta(days=1))
        result = processor.process(_records(hp_settings, [closed, ended], first_offset=2))
    assert result.stage.archived == 2
    rows = policy_rows(db.engine)
    assert rows["bizinfo:PBLN_000001"][2] == "archived" and rows["bizinfo:PBLN_000003"][2] == "archived"
    with db.engine.connect() as conn:
        reasons = dict(conn.execute(sa.text("SELECT id, status_reason FROM policies")).all())
    assert reasons["bizinfo:PBLN_000001"] == "bizinfo marks applications as closed"
    assert "ended on 2026-11-19, before 2026-11-20" in reasons["bizinfo:PBLN_000003"]
    # Nothing closed is left pending for the cold path, and no PolicyValidated claims it is.
    assert {a.policy_id for a in load_pending(db.engine)} == {"bizinfo:PBLN_000002"}


def test_a_soft_delete_by_another_service_survives_a_hot_path_change(
    hp_settings: Settings, db: Database
) -> None:
    with HotPathProcessor(db.engine, hp_settings) as processor:
        processor.process(_records(hp_settings, [announcement(1)]))
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE policies SET deleted_at = now() WHERE id = 'bizinfo:PBLN_000001'"))
        processor.process(_records(hp_settings, [announcement(1, title="[변경] 공고")], first_offset=1))
    with db.engine.connect() as conn:
        deleted_at = conn.execute(
            sa.text("SELECT deleted_at FROM policies WHERE id = 'bizinfo:PBLN_000001'")
        ).scalar_one()
    assert deleted_at is not None


def test_staged_but_unpublished_messages_go_out_with_the_next_publish(
    hp_settings: Settings, db: Database
) -> None:
    records = _records(hp_settings, [announcement(i) for i in range(5)])
    with HotPathProcessor(db.engine, hp_settings) as processor:
        report = processor.stage(records)  # a process dying here has committed rows and messages
        assert report.inserted == 5 and pending_count(db.engine) == 5
        assert processor.stage(records).outbox_written == 0  # staging again adds nothing
        assert processor.publish() == 5 and processor.publish() == 0
    assert pending_count(db.engine) == 0
    assert len(read_events(hp_settings, 5)) == 5
