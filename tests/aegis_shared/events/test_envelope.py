"""The event envelope: wire names, UTC timestamps, version format and coded refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from aegis_shared.errors import ValidationError
from aegis_shared.events import Envelope, parse_event_version


def _wire(**overrides: object) -> dict:
    base = {
        "eventId": "3f1c2a5e-8a4b-4c1d-9e2f-0a1b2c3d4e5f",
        "eventType": "PolicyDeleted",
        "eventVersion": "1.0",
        "source": "policy-service",
        "timestamp": "2025-09-17T10:30:00.000Z",
        "correlationId": "req-42",
        "causationId": None,
        "metadata": {"traceId": "t-1"},
        "data": {"policyId": "bizinfo:1", "reason": "expired"},
    }
    base.update(overrides)
    return base


def test_round_trip_uses_the_seed_wire_names() -> None:
    envelope = Envelope.from_wire(_wire())
    assert envelope.event_id == UUID("3f1c2a5e-8a4b-4c1d-9e2f-0a1b2c3d4e5f")
    assert envelope.timestamp == datetime(2025, 9, 17, 10, 30, tzinfo=UTC)
    wire = json.loads(envelope.to_bytes())
    assert set(wire) == {
        "eventId",
        "eventType",
        "eventVersion",
        "source",
        "timestamp",
        "correlationId",
        "causationId",
        "metadata",
        "data",
    }
    assert wire["timestamp"].endswith("Z")
    assert Envelope.from_wire(wire) == envelope
    assert envelope.to_wire() == wire


def test_defaults_give_a_fresh_uuid4_and_an_aware_utc_now() -> None:
    a = Envelope(event_type="PolicyCreated", source="s", correlation_id="c", data={})
    b = Envelope(event_type="PolicyCreated", source="s", correlation_id="c", data={})
    assert a.event_id != b.event_id and a.event_id.version == 4
    assert a.timestamp.tzinfo is UTC
    assert (a.major, a.minor) == (1, 0)


def test_offset_timestamps_are_normalised_to_utc() -> None:
    seoul = timezone(timedelta(hours=9))
    envelope = Envelope.from_wire(_wire(timestamp="2025-09-17T19:30:00+09:00"))
    assert envelope.timestamp == datetime(2025, 9, 17, 19, 30, tzinfo=seoul)
    assert envelope.timestamp.utcoffset() == timedelta(0)
    assert json.loads(envelope.to_bytes())["timestamp"] == "2025-09-17T10:30:00Z"


def test_naive_timestamp_has_its_own_code() -> None:
    with pytest.raises(ValidationError) as caught:
        Envelope.from_wire(_wire(timestamp="2025-09-17T10:30:00"))
    assert caught.value.code == "VALID_3010"
    assert caught.value.details["errors"][0]["pointer"] == "/timestamp"
    # Building an envelope in code is refused the same way as decoding one.
    with pytest.raises(ValidationError) as caught:
        Envelope(
            event_type="PolicyCreated",
            source="s",
            correlation_id="c",
            data={},
            timestamp=datetime(2025, 1, 1),
        )
    assert caught.value.code == "VALID_3010"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("eventType", "policy_created"),
        ("eventType", "policyCreated"),
        ("eventVersion", "1"),
        ("eventVersion", "1.0.0"),
        ("eventVersion", "v1.0"),
    ],
)
def test_event_type_must_be_pascal_case_and_version_major_minor(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Envelope.from_wire(_wire(**{field: value}))
    assert caught.value.code == "VALID_3003"
    assert caught.value.details["errors"][0]["pointer"] == f"/{field}"


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        "just a string",
        {k: v for k, v in _wire().items() if k != "data"},
        {k: v for k, v in _wire().items() if k != "correlationId"},
        _wire(eventId="not-a-uuid"),
        _wire(data=["not", "an", "object"]),
        _wire(unexpected="field"),
        _wire(source=""),
    ],
)
def test_anything_else_wrong_with_the_envelope_is_valid_3001(payload: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Envelope.from_wire(payload)
    assert caught.value.code == "VALID_3001"


def test_parse_event_version() -> None:
    assert parse_event_version("2.13") == (2, 13)
    with pytest.raises(ValidationError) as caught:
        parse_event_version("2")
    assert caught.value.code == "VALID_3003"
