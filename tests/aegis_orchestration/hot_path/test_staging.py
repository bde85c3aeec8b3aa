"""Staging against real PostgreSQL: never downgrading the cold path's work, and the outbox relay."""

from __future__ import annotations

import sqlalchemy as sa

from aegis_orchestration.hot_path.intake import SourceRecord
from aegis_orchestration.hot_path.processor import HotPathProcessor
from aegis_orchestration.pipeline.outbox import pending_count
from aegis_orchestration.pipeline.policies import load_pending
from aegis_shared.config import Settings
from aegis_shared.events import BundledSchemas
from aegis_shared.messaging import EventPublisher
from aegis_shared.models import Announcement
from tests.aegis_orchestration.hot_path.helpers import Database, announcement, policy_rows, read_events


def _records(settings: Settings, items: list[Announcement], first_offset: int = 0) -> list[SourceRecord]:
    from aegis_orchestration.assets.collection import collected_events

    with EventPublisher(settings.kafka_bootstrap, BundledSchemas(), settings=settings) as publisher:
        envelopes = [publisher.build(e.event_type, e.data) for e in collected_events(items)]
    return [
        SourceRecord(settings.topic("collection"), 0, first_offset + i, a.policy_id.encode(), e.to_bytes())
        for i, (a, e) in enumerate(zip(items, envelopes, strict=True))
    ]


def test_rows_the_cold_path_finished_are_never_downgraded(hp_settings: Settings, db: Database) -> None:
    with HotPathProcessor(db.engine, hp_settings) as processor:
        processor.process(_records(hp_settings, [announcement(1), announcement(2)]))
        # The cold path activates policy 1 and scores it.
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE policies SET status = 'active', quality_score = 0.9, version = 2 "
                    "WHERE id = 'bizinfo:PBLN_000001'"
                )
            )
        again = processor.process(_records(hp_settings, [announcement(1)], first_offset=2))
        assert again.stage.unchanged == 1 and again.published == 0
        row = policy_rows(db.engine)["bizinfo:PBLN_000001"]
        assert row[1:3] == (2, "active") and row[4] == 0.9
        # Changed content is new work for the cold path: staged again, with a new version and event.
        changed = announcement(1, title="[변경] 공고")
        result = processor.process(_records(hp_settings, [changed], first_offset=3))
    assert result.stage.updated == 1 and result.published == 1
    row = policy_rows(db.engine)["bizinfo:PBLN_000001"]
    assert row == (changed.content_hash, 3, "pending_validation", "[변경] 공고", None)
    assert {a.policy_id for a in load_pending(db.engine)} == {"bizinfo:PBLN_000001", "bizinfo:PBLN_000002"}
    events = read_events(hp_settings, 3)
    assert sorted((e["data"]["policy_id"], e["data"]["version"]) for e in events) == [
        ("bizinfo:PBLN_000001", 1),
        ("bizinfo:PBLN_000001", 3),
        ("bizinfo:PBLN_000002", 1),
    ]
    assert all(e["data"]["processing_path"] == "hot" and e["causationId"] for e in events)


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
