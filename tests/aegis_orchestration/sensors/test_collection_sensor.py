"""``collection_sensor`` on the real broker: cursor offsets, run keys, bounded ticks, no re-requests."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from aegis_orchestration.hot_path.offsets import OffsetRange
from aegis_orchestration.sensors.collection import build_collection_sensor, parse_cursor, render_cursor
from aegis_shared.config import Settings
from aegis_shared.errors import ValidationError
from tests.aegis_orchestration.hot_path.helpers import Database, announcement, publish_collected, resources

FAST = {"poll_seconds": 6.0, "idle_seconds": 1.0}


def _tick(settings: Settings, db: Database, cursor: str | None, **bounds: object) -> dg.SensorResult:
    sensor = build_collection_sensor(**{**FAST, **bounds})  # type: ignore[arg-type]
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(cursor=cursor, instance=instance, resources=resources(settings, db))
        return sensor(context)


def test_run_keys_and_cursor_cover_exactly_the_new_ranges(hp_settings: Settings, db: Database) -> None:
    topic = hp_settings.topic("collection")
    publish_collected(hp_settings, [announcement(i) for i in range(5)], partition=1)
    publish_collected(hp_settings, [announcement(i) for i in range(5, 8)], partition=4)

    first = _tick(hp_settings, db, None)
    assert sorted(r.run_key for r in first.run_requests) == [f"{topic}:1:0-5", f"{topic}:4:0-3"]
    for request in first.run_requests:
        config = request.run_config["ops"]["staged_policies"]["config"]
        assert set(config) == {"topic", "partition", "start_offset", "end_offset"}  # only the range
        assert request.tags["aegis/topic"] == topic
    assert json.loads(first.cursor)["next"] == {"1": 5, "4": 3}  # only the partitions it requested

    publish_collected(hp_settings, [announcement(i) for i in range(8, 10)], partition=1)
    second = _tick(hp_settings, db, first.cursor)
    assert [r.run_key for r in second.run_requests] == [f"{topic}:1:5-7"]
    assert parse_cursor(second.cursor, topic) == {1: 7, 4: 3}


def test_two_ticks_without_new_messages_request_nothing(hp_settings: Settings, db: Database) -> None:
    publish_collected(hp_settings, [announcement(i) for i in range(3)], partition=0)
    first = _tick(hp_settings, db, None)
    assert len(first.run_requests) == 1
    for _ in range(2):
        idle = _tick(hp_settings, db, first.cursor)
        assert idle.run_requests == [] and idle.cursor is None  # cursor unchanged
        assert idle.skip_reason is not None and "no new records" in idle.skip_reason.skip_message


def test_large_backlogs_are_split_and_bounded_per_tick(hp_settings: Settings, db: Database) -> None:
    topic = hp_settings.topic("collection")
    publish_collected(hp_settings, [announcement(i) for i in range(25)], partition=2)
    first = _tick(hp_settings, db, None, max_records=20, max_range=8)
    assert [r.run_key for r in first.run_requests] == [
        f"{topic}:2:0-8",
        f"{topic}:2:8-16",
        f"{topic}:2:16-20",
    ]
    rest = _tick(hp_settings, db, first.cursor, max_records=20, max_range=8)
    assert [r.run_key for r in rest.run_requests] == [f"{topic}:2:20-25"]


def test_a_missing_topic_is_skipped_with_a_reason(settings: Settings, db: Database) -> None:
    from tests.aegis_orchestration.hot_path.helpers import unique_env, with_env

    result = _tick(with_env(settings, unique_env()), db, None)
    assert result.run_requests == [] and "does not exist" in result.skip_reason.skip_message


def test_a_cursor_of_another_topic_starts_afresh() -> None:
    cursor = render_cursor("a.aegis.collection.v1", {0: 10, 3: 2})
    assert parse_cursor(cursor, "a.aegis.collection.v1") == {0: 10, 3: 2}
    assert parse_cursor(cursor, "b.aegis.collection.v1") == {}
    assert parse_cursor(None, "b.aegis.collection.v1") == {}


@pytest.mark.parametrize(("partition", "start", "end"), [(-1, 0, 1), (0, -1, 1), (0, 5, 5), (0, 6, 5)])
def test_invalid_ranges_are_refused_with_valid_3004(partition: int, start: int, end: int) -> None:
    with pytest.raises(ValidationError) as caught:
        OffsetRange("t", partition, start, end)
    assert caught.value.code == "VALID_3004"
