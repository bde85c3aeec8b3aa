"""Every way a token can be wrong is refused with its own registered AUTH code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from aegis_shared.auth import (
    InMemoryRefreshTokenStore,
    JWTHandler,
    KeyRing,
    RefreshReuse,
    SigningKey,
)
from aegis_shared.errors import AuthenticationError
from aegis_shared.models.enums import TokenType

SECRET = "s3cr3t-signing-key-that-is-long-enough-for-hs256-and-even-hs512-0123456789"


@pytest.fixture
def handler() -> JWTHandler:
    return JWTHandler(KeyRing.single("k1", SECRET), issuer="aegis-test")


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**overrides: object) -> dict:
    now = datetime.now(UTC)
    claims = {"sub": "user-1", "type": "access", "iat": now, "nbf": now, "exp": now + timedelta(minutes=5)}
    claims |= {"jti": "j-1", "iss": "aegis-test", "roles": ["user"]}
    claims.update(overrides)
    return claims


def _code(exc_info: pytest.ExceptionInfo[AuthenticationError]) -> str:
    return exc_info.value.code


def test_access_token_round_trip(handler: JWTHandler) -> None:
    token = handler.create_access_token("user-1", roles=["analyst"], extra_claims={"org": "ks"})
    principal = handler.verify_access_token(token)
    assert principal.subject == "user-1"
    assert principal.roles == ("analyst",)
    assert principal.token_type is TokenType.ACCESS
    assert principal.claims["org"] == "ks"
    assert jwt.get_unverified_header(token)["kid"] == "k1"


def test_alg_none_is_refused(handler: JWTHandler) -> None:
    payload = _claims()
    payload = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()}
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{_b64(payload)}."
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) == "AUTH_1009"


def test_other_algorithm_is_refused(handler: JWTHandler) -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS512", headers={"kid": "k1"})
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) == "AUTH_1009"


def test_algorithm_confusion_with_rsa_public_key_is_refused() -> None:
    """An RS256 service must not accept HS256 tokens 'signed' with its public key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    rs = JWTHandler(KeyRing.single("rk", private, private.public_key()), algorithm="RS256")
    assert rs.verify_access_token(rs.create_access_token("u")).subject == "u"
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "rk"})
    body = _b64({k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in _claims().items()})
    sig = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    with pytest.raises(AuthenticationError) as exc:
        rs.verify_access_token(token)
    assert _code(exc) == "AUTH_1009"


def test_expired_token_is_refused(handler: JWTHandler) -> None:
    token = handler.create_access_token("u", ttl=timedelta(seconds=-120))
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) == "AUTH_1002"


def test_leeway_accepts_recently_expired_token() -> None:
    lenient = JWTHandler(KeyRing.single("k1", SECRET), leeway=timedelta(seconds=60))
    token = lenient.create_access_token("u", ttl=timedelta(seconds=-10))
    assert lenient.verify_access_token(token).subject == "u"
    strict = JWTHandler(KeyRing.single("k1", SECRET), leeway=timedelta(0))
    with pytest.raises(AuthenticationError) as exc:
        strict.verify_access_token(token)
    assert _code(exc) == "AUTH_1002"


def test_not_yet_valid_token_is_refused(handler: JWTHandler) -> None:
    token = handler.create_access_token("u", not_before=datetime.now(UTC) + timedelta(minutes=10))
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) == "AUTH_1005"


def test_token_issued_in_the_future_is_refused(handler: JWTHandler) -> None:
    future = datetime.now(UTC) + timedelta(hours=1)
    token = jwt.encode(_claims(iat=future), SECRET, algorithm="HS256", headers={"kid": "k1"})
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) == "AUTH_1005"


def test_refresh_token_used_as_access_is_refused(handler: JWTHandler) -> None:
    pair = handler.create_token_pair("u")
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(pair.refresh_token)
    assert _code(exc) == "AUTH_1006"
    with pytest.raises(AuthenticationError) as exc:
        handler.rotate_refresh_token(pair.access_token)
    assert _code(exc) == "AUTH_1006"


def test_tampered_signature_and_payload_are_refused(handler: JWTHandler) -> None:
    token = handler.create_access_token("u", roles=["user"])
    header, body, sig = token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(f"{header}.{body}.{flipped}")
    assert _code(exc) == "AUTH_1001"
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["roles"] = ["admin"]
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(f"{header}.{_b64(claims)}.{sig}")
    assert _code(exc) == "AUTH_1001"


def test_unknown_or_missing_kid_is_refused(handler: JWTHandler) -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS256", headers={"kid": "k9"})
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) == "AUTH_1007"
    token = jwt.encode(_claims(), SECRET, algorithm="HS256")
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) == "AUTH_1007"


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "", "Bearer"])
def test_malformed_tokens_are_refused(handler: JWTHandler, garbage: str) -> None:
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(garbage)
    assert _code(exc) in {"AUTH_1001", "AUTH_1003"}


def test_missing_required_claim_is_refused(handler: JWTHandler) -> None:
    claims = _claims()
    del claims["nbf"]
    token = jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": "k1"})
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) == "AUTH_1001"
    assert exc.value.details["claim"] == "nbf"


def test_wrong_issuer_is_refused(handler: JWTHandler) -> None:
    token = jwt.encode(_claims(iss="someone-else"), SECRET, algorithm="HS256", headers={"kid": "k1"})
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) == "AUTH_1001"


def test_key_rotation_by_kid() -> None:
    ring = KeyRing.single("old", SECRET)
    handler = JWTHandler(ring)
    old_token = handler.create_access_token("u")
    ring.rotate(SigningKey("new", "another-secret-key-of-sufficient-length-x"))
    new_token = handler.create_access_token("u")
    assert jwt.get_unverified_header(new_token)["kid"] == "new"
    # Both verify while the old key is still in the ring ...
    assert handler.verify_access_token(old_token).subject == "u"
    assert handler.verify_access_token(new_token).subject == "u"
    # ... and the old one stops once it is retired.
    ring.rotate(SigningKey("newer", "yet-another-secret-key-of-sufficient-len"), retire=["old"])
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(old_token)
    assert _code(exc) == "AUTH_1007"
    assert handler.verify_access_token(new_token).subject == "u"


def test_refresh_rotation_and_reuse_detection(handler: JWTHandler) -> None:
    reports: list[RefreshReuse] = []
    handler = JWTHandler(KeyRing.single("k1", SECRET), on_refresh_reuse=reports.append)
    first = handler.create_token_pair("user-7", roles=["user"])
    second = handler.rotate_refresh_token(first.refresh_token)
    assert handler.verify_access_token(second.access_token).roles == ("user",)

    with pytest.raises(AuthenticationError) as exc:
        handler.rotate_refresh_token(first.refresh_token)
    assert _code(exc) == "AUTH_1008"
    assert len(reports) == 1 and reports[0].subject == "user-7"

    # The whole session family is revoked: the legitimately rotated token dies too.
    with pytest.raises(AuthenticationError) as exc:
        handler.rotate_refresh_token(second.refresh_token)
    assert _code(exc) == "AUTH_1008"
    # Other sessions are unaffected.
    other = handler.create_token_pair("user-7")
    assert handler.rotate_refresh_token(other.refresh_token).access_token


def test_service_token_is_scoped_by_audience(handler: JWTHandler) -> None:
    token = handler.create_service_token("collector", audience="policy-service", scopes=["policy:write"])
    principal = handler.verify_service_token(token, audience="policy-service")
    assert principal.is_service and principal.scopes == ("policy:write",)
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_service_token(token, audience="user-service")
    assert _code(exc) == "AUTH_1010"
    # A service token is not an access token, and an access token is not a service token.
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_access_token(token)
    assert _code(exc) in {"AUTH_1010", "AUTH_1006"}
    access = handler.create_access_token("u")
    with pytest.raises(AuthenticationError) as exc:
        handler.verify_service_token(access, audience="policy-service")
    assert _code(exc) == "AUTH_1001"  # required aud claim is missing


def test_reserved_claims_cannot_be_overridden(handler: JWTHandler) -> None:
    with pytest.raises(ValueError, match="reserved"):
        handler.create_access_token("u", extra_claims={"type": "refresh"})


def test_handler_refuses_none_algorithm_configuration() -> None:
    with pytest.raises(ValueError):
        JWTHandler(KeyRing.single("k", SECRET), algorithm="none")


def test_in_memory_store_marks_each_jti_once() -> None:
    store = InMemoryRefreshTokenStore()
    assert store.mark_used("a", 60) is True
    assert store.mark_used("a", 60) is False
    assert store.is_family_revoked("f") is False
    store.revoke_family("f", 60)
    assert store.is_family_revoked("f") is True


def test_secrets_never_reach_logs_or_error_bodies(
    handler: JWTHandler, caplog: pytest.LogCaptureFixture
) -> None:
    """Key material and raw tokens appear in no repr, log line or error body."""
    token = handler.create_access_token("u", ttl=timedelta(seconds=-300))
    bodies: list[str] = []
    with structlog.testing.capture_logs() as logs, caplog.at_level(logging.DEBUG):
        for bad in (token, token[:-3] + "xyz", "garbage"):
            with pytest.raises(AuthenticationError) as exc:
                handler.verify_access_token(bad)
            bodies.append(json.dumps(exc.value.to_dict(), ensure_ascii=False) + str(exc.value))
        pair = handler.create_token_pair("u")
        handler.rotate_refresh_token(pair.refresh_token)
        with pytest.raises(AuthenticationError):
            handler.rotate_refresh_token(pair.refresh_token)
    everything = "\n".join([*bodies, repr(handler), repr(handler.keys), repr(handler.keys.active)])
    everything += json.dumps(logs, default=str) + caplog.text
    assert SECRET not in everything
    assert token not in everything
    assert pair.refresh_token not in everything
    assert any(entry["event"] == "refresh_token_reuse_detected" for entry in logs)
