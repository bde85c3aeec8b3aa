"""A collection's rows and ``PolicyCollected`` events commit together through the outbox: nothing
is published before the rows exist, a broker outage loses nothing, and re-landing writes nothing."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from aegis_orchestration.pipeline import tables
from aegis_orchestration.pipeline.collection import land_collection
from aegis_orchestration.pipeline.outbox import pending_count, relay_pending
from aegis_orchestration.sources.connector import CollectionResult
from aegis_shared.config import Settings
from aegis_shared.errors import ExternalServiceError
from aegis_shared.events import BundledSchemas
from aegis_shared.messaging import EventPublisher
from tests.aegis_orchestration.hot_path.helpers import Database, announcement
from tests.aegis_shared.messaging.kafka_helpers import read_all

DAY = date(2026, 11, 20)


def _land(settings: Settings, db: Database, result: CollectionResult) -> int:
    with EventPublisher(settings.kafka_bootstrap, BundledSchemas(), settings=settings) as builder:
        landed = land_collection(
            db.engine, result, DAY, run_id="t", builder=builder, dlq_topic=settings.topic("dlq")
        )
    return landed.events_written


def test_collected_events_wait_in_the_outbox_with_their_rows_until_the_relay_runs(
    hp_settings: Settings, db: Database
) -> None:
    items = [announcement(1), announcement(2)]
    assert _land(hp_settings, db, CollectionResult("bizinfo", records=items)) == 2
    with db.engine.connect() as conn:
        landed = conn.execute(sa.select(sa.func.count()).select_from(tables.raw_announcements)).scalar_one()
    assert landed == 2 and pending_count(db.engine) == 2

    # The broker is unreachable: the relay fails with its code and the events stay pending.
    with pytest.raises(ExternalServiceError) as failed:
        relay_pending(db.engine, "127.0.0.1:1", timeout=3.0)
    assert failed.value.code == "EXT_5012"
    assert pending_count(db.engine) == 2

    # The same collection again lands no row and writes no event.
    assert _land(hp_settings, db, CollectionResult("bizinfo", records=items)) == 0

    assert relay_pending(db.engine, hp_settings.kafka_bootstrap) == 2
    assert pending_count(db.engine) == 0
    messages = read_all(hp_settings.kafka_bootstrap, hp_settings.topic("collection"), expected=2)
    assert sorted(m.key() for m in messages) == sorted(a.policy_id.encode() for a in items)


def test_the_relay_command_publishes_what_a_collection_left_pending(
    hp_settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aegis_orchestration.hot_path.cli import hot_path
    from aegis_shared.config import get_settings

    _land(hp_settings, db, CollectionResult("bizinfo", records=[announcement(7)]))
    monkeypatch.setenv("AEGIS_ENV", hp_settings.env)
    monkeypatch.setenv("AEGIS_POSTGRES_URL", db.url)
    monkeypatch.setenv("AEGIS_KAFKA_BOOTSTRAP", hp_settings.kafka_bootstrap)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(hot_path, ["relay"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 outbox message(s) published" in result.output
    assert pending_count(db.engine) == 0
    [message] = read_all(hp_settings.kafka_bootstrap, hp_settings.topic("collection"), expected=1)
    assert message.key() == announcement(7).policy_id.encode()
