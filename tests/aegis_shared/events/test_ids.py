"""UUIDv7 event ids: version, variant, time order and uniqueness."""

from __future__ import annotations

import time
import uuid

import pytest

from aegis_shared.events.ids import event_id_block, event_id_lines, new_event_id


def _unix_ms(value: uuid.UUID) -> int:
    return value.int >> 80


def test_single_ids_are_v7_with_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = new_event_id()
    after = time.time_ns() // 1_000_000
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert before <= _unix_ms(value) <= after


def test_a_block_is_unique_increasing_and_valid() -> None:
    block = event_id_block(10_000)
    parsed = [uuid.UUID(i) for i in block]
    assert len(set(block)) == 10_000
    assert block == sorted(block) and [p.int for p in parsed] == sorted(p.int for p in parsed)
    assert [str(p) for p in parsed] == block
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 for p in parsed)
    assert len({_unix_ms(p) for p in parsed}) == 1


def test_blocks_do_not_collide() -> None:
    seen: set[str] = set()
    for _ in range(200):
        block = event_id_block(500)
        assert seen.isdisjoint(block)
        seen.update(block)
    assert event_id_block(0) == []


def test_an_impossible_block_size_is_refused() -> None:
    with pytest.raises(ValueError, match="id block"):
        event_id_block(-1)


def test_lines_hold_a_block_one_id_per_line() -> None:
    lines = event_id_lines(3)
    assert lines.count("\n") == 2
    parsed = [uuid.UUID(line) for line in lines.split("\n")]
    assert [p.int - parsed[0].int for p in parsed] == [0, 1, 2]  # the counter, in the last bits
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 for p in parsed)
    assert event_id_lines(0) == ""
