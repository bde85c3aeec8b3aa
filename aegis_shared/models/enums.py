"""Enums shared by every Aegis service, so the same word means the same value everywhere."""

from __future__ import annotations

from enum import StrEnum

from aegis_shared.models.announcement import PolicyStatus


class ProcessingPath(StrEnum):
    """Which pipeline path handled a record: seconds-level hot or scheduled cold."""

    HOT = "hot"
    COLD = "cold"


class HealthStatus(StrEnum):
    """Aggregated health of a service or one of its dependencies."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


class UserRole(StrEnum):
    """Built-in roles; :mod:`aegis_shared.auth.rbac` maps them to permissions."""

    ADMIN = "admin"
    OPERATOR = "operator"
    ANALYST = "analyst"
    USER = "user"
    SERVICE = "service"


class TokenType(StrEnum):
    """The ``type`` claim of every Aegis JWT; a token is only accepted where its type is expected."""

    ACCESS = "access"
    REFRESH = "refresh"
    SERVICE = "service"


class HTTPMethod(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class Environment(StrEnum):
    """Deployment environment; also the first segment of every topic name."""

    DEV = "dev"
    TEST = "test"
    STAGING = "staging"
    PROD = "prod"


__all__ = [
    "Environment",
    "HTTPMethod",
    "HealthStatus",
    "PolicyStatus",
    "ProcessingPath",
    "SortOrder",
    "TokenType",
    "UserRole",
]
