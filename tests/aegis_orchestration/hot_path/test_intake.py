"""The hot path's record examination: every bad input gets its code, good records come through whole."""

from __future__ import annotations

import json

import pytest

from aegis_orchestration.hot_path.intake import MAX_MESSAGE_BYTES, Accepted, Refused, SourceRecord, examine
from aegis_orchestration.pipeline.collection import collected_events
from aegis_shared.config import Settings
from aegis_shared.events import BundledSchemas
from aegis_shared.messaging import EventPublisher, SchemaValidators, validators_for
from tests.aegis_orchestration.hot_path.helpers import announcement


@pytest.fixture(scope="module")
def validators() -> SchemaValidators:
    return validators_for(BundledSchemas())


@pytest.fixture(scope="module")
def builder(validators: SchemaValidators) -> EventPublisher:
    # Only build() is used: validation and enveloping, nothing is produced.
    return EventPublisher("127.0.0.1:1", validators, settings=Settings(env="unit"))


def _record(value: bytes | None, offset: int = 7) -> SourceRecord:
    return SourceRecord("unit.aegis.collection.v1", 2, offset, b"k", value, (("trace", b"x"),))


def _collected(builder: EventPublisher, **fields: object) -> tuple[bytes, dict]:
    event = collected_events([announcement(1, **fields)])[0]
    envelope = builder.build(event.event_type, event.data)
    return envelope.to_bytes(), envelope.to_wire()


def test_a_collected_event_is_accepted_with_its_announcement(validators, builder) -> None:
    value, wire = _collected(builder)
    outcome = examine(_record(value), validators)
    assert isinstance(outcome, Accepted)
    assert outcome.announcement.policy_id == "bizinfo:PBLN_000001"
    assert outcome.announcement.content_hash == wire["data"]["content_hash"]
    assert str(outcome.envelope.event_id) == wire["eventId"]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "VALID_3009"),
        (b"", "VALID_3009"),
        (b'{"eventId": "trunc', "VALID_3009"),
        (b"\xff\xfe not utf-8", "VALID_3009"),
        (b"[1, 2, 3]", "VALID_3001"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "VALID_3011"),
    ],
)
def test_unreadable_messages_are_refused_with_their_code(validators, value: bytes | None, code: str) -> None:
    outcome = examine(_record(value), validators)
    assert isinstance(outcome, Refused)
    assert outcome.code == code and outcome.reason
    assert outcome.record.value == value  # the original bytes stay with the refusal


def test_schema_invalid_data_is_valid_3005(validators, builder) -> None:
    _, wire = _collected(builder)
    wire["data"]["content_hash"] = "nope"
    outcome = examine(_record(json.dumps(wire).encode()), validators)
    assert isinstance(outcome, Refused) and outcome.code == "VALID_3005"


def test_another_event_type_on_the_collection_topic_is_refused(validators, builder) -> None:
    envelope = builder.build("PolicyDeleted", {"policyId": "bizinfo:1", "reason": "expired"})
    outcome = examine(_record(envelope.to_bytes()), validators)
    assert isinstance(outcome, Refused) and outcome.code == "VALID_3001"
    assert "PolicyDeleted" in outcome.reason


def test_announcement_with_unknown_fields_is_dp_2001(validators, builder) -> None:
    _, wire = _collected(builder)
    wire["data"]["announcement"]["surprise"] = 1
    outcome = examine(_record(json.dumps(wire, ensure_ascii=False).encode()), validators)
    assert isinstance(outcome, Refused) and outcome.code == "DP_2001"
    assert "surprise" in outcome.reason


def test_event_keys_disagreeing_with_the_announcement_is_dp_2001(validators, builder) -> None:
    _, wire = _collected(builder)
    wire["data"]["source_id"] = "PBLN_999999"
    outcome = examine(_record(json.dumps(wire, ensure_ascii=False).encode()), validators)
    assert isinstance(outcome, Refused) and outcome.code == "DP_2001"
    assert "source_id" in outcome.reason


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"title": "   "}, "DP_2005"),
        ({"organization": "기" * 301}, "DP_2006"),
        ({"raw": {"blob": "가" * 100_000}}, "DP_2008"),
    ],
)
def test_basic_validation_refusals_keep_their_codes(validators, builder, fields: dict, code: str) -> None:
    value, _ = _collected(builder, **fields)
    outcome = examine(_record(value), validators)
    assert isinstance(outcome, Refused) and outcome.code == code
