"""The collected announcement: one programme as one source published it."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PolicyStatus(StrEnum):
    """Lifecycle of a policy row in PostgreSQL (the source of truth)."""

    PENDING_VALIDATION = "pending_validation"
    ACTIVE = "active"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    url: str | None = None


# Fields whose change means the programme itself changed; collection time and the raw
# payload's incidental fields (view counts, totCnt) are deliberately left out.
_HASHED_FIELDS = (
    "source",
    "source_id",
    "title",
    "organization",
    "executing_organization",
    "category",
    "summary",
    "url",
    "period_start",
    "period_end",
    "period_open_ended",
    "period_note",
    "region_codes",
    "target_groups",
    "attachments",
)


class Announcement(BaseModel):
    """A normalised announcement. Text fields are plain text (no HTML, entities unescaped)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    source_id: str
    title: str
    organization: str | None = None
    executing_organization: str | None = None
    category: str | None = None
    summary: str | None = None
    url: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    period_open_ended: bool = False
    period_note: str | None = None
    region_codes: list[str] = Field(default_factory=list)
    target_groups: list[str] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    # The source's own word that applications are closed (K-Startup ``rcrt_prgs_yn=N``): such a
    # programme is never active, whatever its period says.
    closed_by_source: bool = False
    # When the source registered and last updated the item (not hashed: incidental to the
    # programme). A collection partition holds the items registered or updated on its day.
    registered_on: date | None = None
    updated_on: date | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
    content_hash: str = ""
    collected_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @model_validator(mode="after")
    def _fill_content_hash(self) -> Announcement:
        if not self.content_hash:
            self.content_hash = self.compute_content_hash()
        return self

    def compute_content_hash(self) -> str:
        """SHA-256 over the programme's meaningful fields, stable across runs and hosts."""
        payload = self.model_dump(mode="json", include=set(_HASHED_FIELDS))
        if self.closed_by_source:
            # Only when set, so hashes of open items stay what they were before the flag existed.
            payload["closed_by_source"] = True
        canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def policy_id(self) -> str:
        """Stable policy key before cross-source dedup: ``{source}:{source_id}``."""
        return f"{self.source}:{self.source_id}"
