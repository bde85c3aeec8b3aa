"""The event envelope every Aegis event travels in (docs/events.md §1).

The wire form uses camelCase names; Python code uses snake_case attributes. The
timestamp must carry a timezone and is normalised to UTC: a naive timestamp is ambiguous across
services in different zones, so it is refused with its own code (VALID_3010).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from aegis_shared.errors import ValidationError

EVENT_TYPE_PATTERN = r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)*$"
EVENT_VERSION_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)$"
_VERSION_RE = re.compile(EVENT_VERSION_PATTERN)


def parse_event_version(version: str) -> tuple[int, int]:
    """Split ``"major.minor"`` into integers; anything else is VALID_3003."""
    match = _VERSION_RE.match(version)
    if match is None:
        raise ValidationError(
            "VALID_3003",
            f"eventVersion {version!r} is not 'major.minor'",
            details={"field": "eventVersion", "value": version},
        )
    return int(match.group(1)), int(match.group(2))


class Envelope(BaseModel):
    """One event: identity, type and version, provenance, and its ``data`` payload."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    event_id: UUID = Field(default_factory=uuid4, alias="eventId")
    event_type: str = Field(alias="eventType", pattern=EVENT_TYPE_PATTERN, max_length=128)
    event_version: str = Field("1.0", alias="eventVersion", pattern=EVENT_VERSION_PATTERN)
    source: str = Field(min_length=1, max_length=256)
    timestamp: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = Field(alias="correlationId", min_length=1, max_length=256)
    causation_id: str | None = Field(None, alias="causationId", max_length=256)
    metadata: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any]

    def __init__(self, **values: Any) -> None:
        # Direct construction refuses bad values with the same codes as decoding does.
        try:
            super().__init__(**values)
        except PydanticValidationError as exc:
            raise envelope_error(exc) from None

    @field_validator("timestamp")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @property
    def major(self) -> int:
        return parse_event_version(self.event_version)[0]

    @property
    def minor(self) -> int:
        return parse_event_version(self.event_version)[1]

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready camelCase form."""
        return self.model_dump(mode="json", by_alias=True)

    def to_bytes(self) -> bytes:
        """UTF-8 JSON bytes, as produced to Kafka."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True)

    @classmethod
    def from_wire(cls, payload: Any) -> Envelope:
        """Validate a decoded JSON value as an envelope, raising coded errors.

        VALID_3010 for a naive timestamp, VALID_3003 for a malformed eventType/eventVersion,
        VALID_3001 for anything else (not an object, missing or unknown fields, wrong types).
        """
        if not isinstance(payload, dict):
            raise ValidationError(
                "VALID_3001",
                "event envelope must be a JSON object",
                details={"received": type(payload).__name__},
            )
        try:
            return cls.model_validate(payload)
        except PydanticValidationError as exc:
            raise envelope_error(exc) from None


def envelope_error(exc: PydanticValidationError) -> ValidationError:
    """Translate pydantic's error list into the most specific registered code."""
    errors = [
        {"pointer": "/" + "/".join(str(p) for p in err["loc"]), "type": err["type"], "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    types = {e["type"] for e in errors}
    if "timezone_aware" in types:
        code, message = "VALID_3010", "timestamp has no timezone; send ISO-8601 with an offset (UTC)"
    elif types <= {"string_pattern_mismatch"}:
        code, message = "VALID_3003", "eventType must be PascalCase and eventVersion 'major.minor'"
    else:
        code, message = (
            "VALID_3001",
            "event envelope is invalid: " + "; ".join(f"{e['pointer']}: {e['message']}" for e in errors),
        )
    return ValidationError(code, message, details={"errors": errors})
