"""Outbox retention on the real PostgreSQL and broker: old published entries are purged, their
dedupe keys kept, so writing the same messages again never publishes them twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from aegis_orchestration.pipeline.outbox import (
    OutboxMessage,
    OutboxRelay,
    pending_count,
    purge_published,
    write_messages,
)
from aegis_shared.config import Settings, get_settings
from tests.aegis_orchestration.hot_path.helpers import Database
from tests.aegis_shared.messaging.kafka_helpers import read_all


def _messages(settings: Settings, keys: list[str]) -> list[OutboxMessage]:
    return [
        OutboxMessage(
            dedupe_key=key,
            kind="event",
            topic=settings.topic("policy"),
            key=key.encode(),
            payload=key.encode(),
        )
        for key in keys
    ]


def _write(db: Database, messages: list[OutboxMessage]) -> int:
    with db.engine.begin() as conn:
        return write_messages(conn, messages)


def _age(db: Database, keys: list[str], column: str, days: int) -> None:
    """Make entries look ``days`` old (published or created then)."""
    assert column in {"published_at", "created_at"}
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                f"UPDATE event_outbox SET {column} = now() - make_interval(days => :d) "
                "WHERE dedupe_key = ANY(:k)"
            ),
            {"d": days, "k": keys},
        )


def _keys(db: Database, table: str) -> set[str]:
    assert table in {"event_outbox", "event_outbox_published"}
    with db.engine.connect() as conn:
        return set(conn.execute(sa.text(f"SELECT dedupe_key FROM {table}")).scalars())


def test_old_published_entries_are_purged_and_never_published_again(
    hp_settings: Settings, db: Database
) -> None:
    old, recent = [f"old:{i}" for i in range(4)], [f"recent:{i}" for i in range(2)]
    assert _write(db, _messages(hp_settings, old + recent)) == 6
    with OutboxRelay(db.engine, hp_settings.kafka_bootstrap, retention=None) as relay:
        assert relay.publish_pending() == 6
    _age(db, old, "published_at", 10)
    # An entry that was never published is kept however old it is.
    assert _write(db, _messages(hp_settings, ["stuck"])) == 1
    _age(db, ["stuck"], "created_at", 30)

    assert purge_published(db.engine, timedelta(days=7)) == 4
    assert _keys(db, "event_outbox") == {*recent, "stuck"}
    assert _keys(db, "event_outbox_published") == set(old)
    assert purge_published(db.engine, timedelta(days=7)) == 0  # nothing more is old enough

    # A retried or replayed run writes every message again: none of them is new.
    assert _write(db, _messages(hp_settings, old + recent + ["stuck"])) == 0
    with OutboxRelay(db.engine, hp_settings.kafka_bootstrap, retention=None) as relay:
        assert relay.publish_pending() == 1  # only "stuck", which was never published
    assert pending_count(db.engine) == 0
    on_topic = [
        m.key().decode() for m in read_all(hp_settings.kafka_bootstrap, hp_settings.topic("policy"), 8, 8)
    ]
    assert sorted(on_topic) == sorted([*old, *recent, "stuck"])  # each exactly once


def test_the_relay_purges_with_the_configured_age_at_most_once_per_interval(
    hp_settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_OUTBOX_RETENTION_DAYS", "3")
    get_settings.cache_clear()
    try:
        relay = OutboxRelay(db.engine, hp_settings.kafka_bootstrap, purge_interval=3600)
    finally:
        get_settings.cache_clear()
    with relay:
        assert relay.retention == timedelta(days=3)
        assert _write(db, _messages(hp_settings, ["a", "b"])) == 2
        assert relay.publish_pending() == 2 and relay.purged == 0  # published just now: kept
        _age(db, ["a"], "published_at", 4)
        assert _write(db, _messages(hp_settings, ["c"])) == 1
        assert relay.publish_pending() == 1 and relay.purged == 0  # the interval has not passed
        relay.purge_interval = 0
        assert _write(db, _messages(hp_settings, ["d"])) == 1
        assert relay.publish_pending() == 1 and relay.purged == 1  # "a" (4 days) purged, "b" kept
    assert _keys(db, "event_outbox") == {"b", "c", "d"}
    assert _write(db, _messages(hp_settings, ["a"])) == 0


def test_retention_zero_keeps_every_entry(
    hp_settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_OUTBOX_RETENTION_DAYS", "0")
    get_settings.cache_clear()
    try:
        with OutboxRelay(db.engine, hp_settings.kafka_bootstrap) as relay:
            assert relay.retention is None
    finally:
        get_settings.cache_clear()
    with pytest.raises(ValueError):
        purge_published(db.engine, timedelta(0))
