"""Shared data models exchanged between Aegis services and pipeline stages."""

from aegis_shared.models.announcement import Announcement, Attachment, PolicyStatus
from aegis_shared.models.base import MAX_PAGE_SIZE, BaseEntity, PageParams, PaginatedResponse, utcnow
from aegis_shared.models.enums import (
    Environment,
    HealthStatus,
    HTTPMethod,
    ProcessingPath,
    SortOrder,
    TokenType,
    UserRole,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "Announcement",
    "Attachment",
    "BaseEntity",
    "Environment",
    "HTTPMethod",
    "HealthStatus",
    "PageParams",
    "PaginatedResponse",
    "PolicyStatus",
    "ProcessingPath",
    "SortOrder",
    "TokenType",
    "UserRole",
    "utcnow",
]
