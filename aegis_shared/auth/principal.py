"""The authenticated caller, as the verified token describes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aegis_shared.models.enums import TokenType


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user (access token) or a service account (service token)."""

    subject: str
    token_type: TokenType
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    token_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_service(self) -> bool:
        return self.token_type is TokenType.SERVICE
