"""JWT access, refresh and service tokens on PyJWT, with every failure mapped to its AUTH code.

The handler pins one algorithm. The token header is inspected before any verification so that
``alg: none`` and algorithm-confusion tokens (e.g. HS256 signed with an RSA public key) are
refused as AUTH_1009 without ever reaching a verifier, and ``kid`` picks the key (AUTH_1007).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import structlog

from aegis_shared.auth.keys import KeyRing
from aegis_shared.auth.principal import Principal
from aegis_shared.auth.refresh_store import InMemoryRefreshTokenStore, RefreshTokenStore
from aegis_shared.errors import AuthenticationError
from aegis_shared.models.enums import TokenType

logger = structlog.get_logger(__name__)

# Claims that callers may not set through ``extra_claims``: they are the handler's to decide.
_RESERVED = frozenset({"exp", "iat", "nbf", "type", "jti", "fam", "sub", "aud", "iss"})
_ALLOWED_ALGORITHMS = frozenset(
    {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
     "ES256", "ES384", "ES512", "EdDSA"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"


@dataclass(frozen=True, slots=True)
class RefreshReuse:
    """What is reported when a used refresh token comes back."""

    subject: str
    family: str
    token_id: str


class JWTHandler:
    """Issues and verifies tokens for one service with a pinned algorithm and a key ring."""

    def __init__(
        self,
        keys: KeyRing,
        *,
        algorithm: str = "HS256",
        issuer: str | None = None,
        access_ttl: timedelta = timedelta(minutes=30),
        refresh_ttl: timedelta = timedelta(days=7),
        service_ttl: timedelta = timedelta(minutes=10),
        leeway: timedelta = timedelta(seconds=30),
        refresh_store: RefreshTokenStore | None = None,
        on_refresh_reuse: Callable[[RefreshReuse], None] | None = None,
    ) -> None:
        if algorithm not in _ALLOWED_ALGORITHMS:
            # "none" and unknown names are configuration errors, caught at start-up.
            raise ValueError(f"algorithm {algorithm!r} is not allowed")
        self.algorithm = algorithm
        self.keys = keys
        self.issuer = issuer
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.service_ttl = service_ttl
        self.leeway = leeway
        self.refresh_store: RefreshTokenStore = refresh_store or InMemoryRefreshTokenStore()
        self._on_refresh_reuse = on_refresh_reuse

    def __repr__(self) -> str:
        return f"JWTHandler(algorithm={self.algorithm!r}, keys={self.keys!r}, issuer={self.issuer!r})"

    # -- issuing -------------------------------------------------------------------------------

    def _encode(
        self,
        subject: str,
        token_type: TokenType,
        ttl: timedelta,
        claims: Mapping[str, Any] | None = None,
        *,
        not_before: datetime | None = None,
        system_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign a token. ``claims`` come from callers; ``system_claims`` only from this class."""
        clash = _RESERVED.intersection(claims or {})
        if clash:
            raise ValueError(f"reserved claims cannot be set by callers: {sorted(clash)}")
        now = datetime.now(UTC)
        payload: dict[str, Any] = {
            **(claims or {}),
            **(system_claims or {}),
            "sub": subject,
            "type": token_type.value,
            "iat": now,
            "nbf": not_before or now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
        }
        if self.issuer:
            payload["iss"] = self.issuer
        key = self.keys.active
        return jwt.encode(payload, key.signing_key, algorithm=self.algorithm, headers={"kid": key.kid})

    def create_access_token(
        self,
        subject: str,
        *,
        roles: Iterable[str] = (),
        extra_claims: Mapping[str, Any] | None = None,
        ttl: timedelta | None = None,
        not_before: datetime | None = None,
    ) -> str:
        claims = {**(extra_claims or {}), "roles": list(roles)}
        return self._encode(subject, TokenType.ACCESS, ttl or self.access_ttl, claims, not_before=not_before)

    def create_refresh_token(
        self,
        subject: str,
        *,
        roles: Iterable[str] = (),
        family: str | None = None,
        ttl: timedelta | None = None,
    ) -> str:
        """A refresh token of session ``family`` (a new session when omitted)."""
        return self._encode(
            subject,
            TokenType.REFRESH,
            ttl or self.refresh_ttl,
            {"roles": list(roles)},
            system_claims={"fam": family or str(uuid.uuid4())},
        )

    def create_token_pair(self, subject: str, *, roles: Iterable[str] = ()) -> TokenPair:
        """Start a login session: an access token and the first refresh token of a new family."""
        roles = list(roles)
        return TokenPair(
            self.create_access_token(subject, roles=roles), self.create_refresh_token(subject, roles=roles)
        )

    def create_service_token(
        self,
        service: str,
        *,
        audience: str | Iterable[str],
        scopes: Iterable[str] = (),
        ttl: timedelta | None = None,
    ) -> str:
        """A short-lived token for ``service`` to call the service(s) named in ``audience``."""
        audiences = [audience] if isinstance(audience, str) else list(audience)
        if not audiences:
            raise ValueError("a service token needs at least one audience")
        return self._encode(
            service,
            TokenType.SERVICE,
            ttl or self.service_ttl,
            system_claims={"aud": audiences, "scope": " ".join(scopes)},
        )

    # -- verifying -----------------------------------------------------------------------------

    def decode(self, token: str, expected_type: TokenType, *, audience: str | None = None) -> dict[str, Any]:
        """Verify ``token`` completely and return its claims, or raise the matching AUTH code."""
        if not isinstance(token, str) or not token:
            raise AuthenticationError("AUTH_1003")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthenticationError("AUTH_1001", details={"reason": "malformed"}) from exc
        alg = header.get("alg")
        if alg != self.algorithm:
            raise AuthenticationError("AUTH_1009", details={"alg": str(alg)[:20]})
        key = self.keys.get(header.get("kid"))
        required = ["exp", "iat", "nbf", "type", "sub", "jti"]
        if audience is not None:
            required.append("aud")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.verifier,
                algorithms=[self.algorithm],
                audience=audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": required, "verify_iss": self.issuer is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("AUTH_1002") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthenticationError("AUTH_1005") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthenticationError("AUTH_1010", details={"expected_audience": audience}) from exc
        except jwt.InvalidAlgorithmError as exc:
            raise AuthenticationError("AUTH_1009") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthenticationError("AUTH_1001", details={"reason": "signature"}) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(
                "AUTH_1001", details={"reason": "missing_claim", "claim": exc.claim}
            ) from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError("AUTH_1001", details={"reason": type(exc).__name__}) from exc
        if claims.get("type") != expected_type.value:
            raise AuthenticationError(
                "AUTH_1006", details={"expected": expected_type.value, "actual": str(claims.get("type"))[:20]}
            )
        return claims

    def verify_access_token(self, token: str) -> Principal:
        """An API caller's access token → its principal."""
        claims = self.decode(token, TokenType.ACCESS)
        return _principal(claims, TokenType.ACCESS)

    def verify_service_token(self, token: str, *, audience: str) -> Principal:
        """A service-account token, accepted only by the service named in its audience."""
        claims = self.decode(token, TokenType.SERVICE, audience=audience)
        return _principal(claims, TokenType.SERVICE)

    def rotate_refresh_token(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair; the old one can never be used again.

        A second use of the same refresh token revokes its whole session family and raises
        AUTH_1008, and the reuse is reported (warning log plus the ``on_refresh_reuse`` hook).
        """
        claims = self.decode(refresh_token, TokenType.REFRESH)
        jti, subject = str(claims["jti"]), str(claims["sub"])
        family = str(claims.get("fam") or jti)
        remaining = max(int(claims["exp"] - datetime.now(UTC).timestamp() + self.leeway.total_seconds()), 1)
        if self.refresh_store.is_family_revoked(family):
            raise AuthenticationError("AUTH_1008", details={"reason": "session_revoked"})
        if not self.refresh_store.mark_used(jti, remaining):
            # Revoke for as long as any token of this family could still be alive.
            self.refresh_store.revoke_family(family, int(self.refresh_ttl.total_seconds()) + remaining)
            report = RefreshReuse(subject=subject, family=family, token_id=jti)
            logger.warning("refresh_token_reuse_detected", subject=subject, family=family, token_id=jti)
            if self._on_refresh_reuse is not None:
                self._on_refresh_reuse(report)
            raise AuthenticationError("AUTH_1008", details={"reason": "reused"})
        roles = [str(r) for r in claims.get("roles", [])]
        return TokenPair(
            self.create_access_token(subject, roles=roles),
            self.create_refresh_token(subject, roles=roles, family=family),
        )


def _principal(claims: Mapping[str, Any], token_type: TokenType) -> Principal:
    aud = claims.get("aud", ())
    roles = claims.get("roles", ())
    return Principal(
        subject=str(claims["sub"]),
        token_type=token_type,
        roles=tuple(str(r) for r in roles) if isinstance(roles, list | tuple) else (),
        scopes=tuple(str(claims.get("scope", "")).split()),
        audience=(aud,) if isinstance(aud, str) else tuple(aud),
        token_id=str(claims.get("jti")),
        claims=dict(claims),
    )
