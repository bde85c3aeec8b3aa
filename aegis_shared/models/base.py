"""Base entity and pagination models shared by every service API.

Timestamps are always timezone-aware UTC (naive datetimes are refused), because services in
different zones exchange them and a naive value silently shifts by nine hours in Seoul.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field

from aegis_shared.errors import ValidationError

T = TypeVar("T")

MAX_PAGE_SIZE = 500


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class BaseEntity(BaseModel):
    """Common fields of every stored entity: id, creation, update and soft-deletion times."""

    model_config = ConfigDict(from_attributes=True, validate_assignment=True)

    id: UUID = Field(default_factory=uuid4)
    created_at: AwareDatetime = Field(default_factory=utcnow)
    updated_at: AwareDatetime = Field(default_factory=utcnow)
    deleted_at: AwareDatetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def touch(self) -> None:
        """Record a modification now."""
        self.updated_at = utcnow()

    def mark_deleted(self) -> None:
        """Soft-delete: rows are kept for audit, readers filter on ``deleted_at``."""
        now = utcnow()
        self.deleted_at = now
        self.updated_at = now


class PageParams(BaseModel):
    """A requested page: 1-based ``page`` and a bounded ``page_size``."""

    model_config = ConfigDict(frozen=True)

    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @classmethod
    def of(cls, page: int = 1, page_size: int = 20) -> PageParams:
        """Build page parameters, raising the registered VALID_3004 for out-of-range values."""
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValidationError(
                "VALID_3004",
                "Pagination parameters out of range",
                details={"page": page, "page_size": page_size, "max_page_size": MAX_PAGE_SIZE},
            )
        return cls(page=page, page_size=page_size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def limit(self) -> int:
        return self.page_size


class PaginatedResponse(BaseModel, Generic[T]):
    """One page of results plus what a client needs to fetch the next one."""

    items: list[T]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    page_size: int = Field(ge=1, le=MAX_PAGE_SIZE)

    # pydantic's documented pattern: mypy rejects decorators stacked on @property.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.page_size) if self.total else 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @classmethod
    def create(cls, items: Sequence[T], total: int, params: PageParams) -> PaginatedResponse[T]:
        """Wrap one already-fetched page (e.g. from ``LIMIT params.limit OFFSET params.offset``)."""
        return cls(items=list(items), total=total, page=params.page, page_size=params.page_size)

    @classmethod
    def from_sequence(cls, everything: Sequence[T], params: PageParams) -> PaginatedResponse[T]:
        """Slice an in-memory sequence into the requested page."""
        page = everything[params.offset : params.offset + params.limit]
        return cls.create(page, len(everything), params)


__all__ = ["MAX_PAGE_SIZE", "BaseEntity", "PageParams", "PaginatedResponse", "utcnow"]
