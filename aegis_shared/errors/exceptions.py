"""Exceptions that carry a registered error code."""

from __future__ import annotations

from typing import Any

from aegis_shared.errors.registry import ErrorDefinition, get_definition


class AegisError(Exception):
    """Base of every Aegis error: a registered code, a message and structured details.

    ``details`` must not hold secrets or personal data: it reaches logs and API bodies.
    """

    default_code = "SYS_7001"

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.definition: ErrorDefinition = get_definition(self.code)
        self.message = message or self.definition.message
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(f"[{self.code}] {self.message}")

    @property
    def http_status(self) -> int:
        return self.definition.http_status

    @property
    def user_message(self) -> str:
        return self.definition.user_message

    @property
    def resolution(self) -> str:
        """What an operator should do about it (from the registry); logged, never sent to users."""
        return self.definition.resolution

    def operator_text(self) -> str:
        """``[CODE] message`` and the resolution on a second line, for a command's error output."""
        return f"[{self.code}] {self.message}\n  resolution: {self.resolution}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "user_message": self.user_message,
            "http_status": self.http_status,
            "details": self.details,
        }


class AuthenticationError(AegisError):
    default_code = "AUTH_1001"


class AuthorizationError(AegisError):
    default_code = "AUTHZ_2001"


class ValidationError(AegisError):
    default_code = "VALID_3001"


class DatabaseError(AegisError):
    default_code = "DB_4004"


class ExternalServiceError(AegisError):
    default_code = "EXT_5003"


class BusinessError(AegisError):
    default_code = "BIZ_6003"


class SystemError_(AegisError):  # noqa: N801, N818 - "SystemError" would shadow the builtin
    default_code = "SYS_7001"


class PipelineError(AegisError):
    """A data-pipeline failure (DP_1xxx–DP_4xxx)."""

    default_code = "DP_4002"
