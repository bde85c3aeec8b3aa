"""Turn a bearer token into a :class:`Principal`, whichever kind of token it is."""

from __future__ import annotations

from dataclasses import dataclass, field

import jwt

from aegis_shared.auth.jwt_handler import JWTHandler
from aegis_shared.auth.principal import Principal
from aegis_shared.auth.rbac import RBACPolicy, default_policy
from aegis_shared.errors import AuthenticationError
from aegis_shared.models.enums import TokenType


@dataclass(slots=True)
class Authenticator:
    """Verifies user access tokens and, when ``service_audience`` is set, service tokens for it."""

    handler: JWTHandler
    policy: RBACPolicy = field(default_factory=default_policy)
    service_audience: str | None = None

    def authenticate(self, token: str) -> Principal:
        try:
            # Unverified peek only to choose the verifier; the verifier then checks everything.
            kind = jwt.decode(token, options={"verify_signature": False}).get("type")
        except jwt.PyJWTError:
            kind = None
        if kind == TokenType.SERVICE.value and self.service_audience is not None:
            return self.handler.verify_service_token(token, audience=self.service_audience)
        return self.handler.verify_access_token(token)

    def authenticate_header(self, authorization: str | None) -> Principal:
        """Parse ``Authorization: Bearer <token>``; a missing or non-bearer header is AUTH_1003."""
        if not authorization:
            raise AuthenticationError("AUTH_1003")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("AUTH_1003", details={"reason": "expected a Bearer token"})
        return self.authenticate(token.strip())
