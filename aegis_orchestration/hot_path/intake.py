"""Turning one Kafka record of the collection topic into an announcement, or a coded refusal.

The checks run cheapest first, and every refusal carries a registered code so it can go to the
DLQ with the original bytes:

* VALID_3011: the message itself is larger than any legitimate record can be;
* VALID_3009 / 3001 / 3003 / 3005 / 3007 / 3008 / 3010: not a valid, schema-conforming envelope
  (:func:`aegis_shared.messaging.decode_message`, shared with the group consumer);
* VALID_3001: a valid event, but not a ``PolicyCollected``;
* DP_2001: ``announcement`` is not an :class:`Announcement`, or disagrees with the event's keys;
* DP_2005 / DP_2006 / DP_2008: the hot path's basic validation (:func:`basic_check`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from aegis_orchestration.pipeline.validation import MAX_RECORD_BYTES, basic_check
from aegis_shared.errors import AegisError
from aegis_shared.events.envelope import Envelope
from aegis_shared.messaging import SchemaValidators, decode_message
from aegis_shared.models import Announcement

EXPECTED_EVENT_TYPE = "PolicyCollected"
# A record may hold 256 KiB of announcement; its envelope and event fields repeat a few small
# fields, so anything over four times that is not a record at all and is refused before parsing.
MAX_MESSAGE_BYTES = 4 * MAX_RECORD_BYTES


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One Kafka record, detached from librdkafka so it can be kept, batched and tested."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None  # the broker's timestamp, for the pipeline-lag metric

    @classmethod
    def from_message(cls, message: Any) -> SourceRecord:
        """From a ``confluent_kafka.Message`` (header values of ``None`` become empty bytes)."""
        return cls(
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
            key=message.key(),
            value=message.value(),
            headers=tuple((name, value or b"") for name, value in (message.headers() or ())),
            timestamp_ms=message.timestamp()[1] if message.timestamp()[1] > 0 else None,
        )

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True, slots=True)
class Accepted:
    """A record that passed the basic checks, with the event it came in (for causation)."""

    record: SourceRecord
    envelope: Envelope
    announcement: Announcement


@dataclass(frozen=True, slots=True)
class Refused:
    """A record that goes to the DLQ: its code and a reason a person can act on."""

    record: SourceRecord
    code: str
    reason: str


def _pydantic_reason(exc: PydanticValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "announcement"
    return f"announcement.{where}: {first['msg']} ({exc.error_count()} problem(s))"


def examine(record: SourceRecord, validators: SchemaValidators) -> Accepted | Refused:
    """Decode and basically validate one record; never raises for bad input."""
    size = len(record.value or b"")
    if size > MAX_MESSAGE_BYTES:
        return Refused(record, "VALID_3011", f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")
    try:
        envelope = decode_message(record.value, validators)
    except AegisError as exc:
        return Refused(record, exc.code, exc.message)
    if envelope.event_type != EXPECTED_EVENT_TYPE:
        return Refused(
            record, "VALID_3001", f"collection topic carries {EXPECTED_EVENT_TYPE}, not {envelope.event_type}"
        )
    data = envelope.data
    try:
        announcement = Announcement.model_validate(data["announcement"])
    except PydanticValidationError as exc:
        return Refused(record, "DP_2001", _pydantic_reason(exc))
    claimed = (data["source"], data["source_id"], data["content_hash"])
    actual = (announcement.source, announcement.source_id, announcement.content_hash)
    if claimed != actual:
        # The keys the event claims decide idempotency; a record disagreeing with them is corrupt.
        fields = [
            name
            for name, a, b in zip(("source", "source_id", "content_hash"), claimed, actual, strict=True)
            if a != b
        ]
        return Refused(record, "DP_2001", f"event fields {fields} disagree with the announcement")
    rejection = basic_check(announcement)
    if rejection is not None:
        return Refused(record, rejection.code, rejection.reason)
    return Accepted(record, envelope, announcement)


def examine_all(
    records: Sequence[SourceRecord], validators: SchemaValidators
) -> tuple[list[Accepted], list[Refused]]:
    """Split ``records`` into accepted and refused, keeping their order."""
    accepted: list[Accepted] = []
    refused: list[Refused] = []
    for record in records:
        outcome = examine(record, validators)
        (accepted if isinstance(outcome, Accepted) else refused).append(outcome)  # type: ignore[arg-type]
    return accepted, refused
