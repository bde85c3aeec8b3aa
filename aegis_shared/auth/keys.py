"""Signing keys chosen by ``kid``, so keys can rotate without invalidating live tokens."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aegis_shared.errors import AuthenticationError


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key of a key ring.

    For HMAC algorithms ``signing_key`` is the shared secret and ``verification_key`` is left
    out; for RSA/EC/EdDSA ``signing_key`` is the private key (may be ``None`` on verify-only
    services) and ``verification_key`` the public key. Key material never appears in ``repr``.
    """

    kid: str
    signing_key: Any = field(default=None, repr=False)
    verification_key: Any = field(default=None, repr=False)

    @property
    def verifier(self) -> Any:
        return self.verification_key if self.verification_key is not None else self.signing_key


class KeyRing:
    """Keys by ``kid`` with one active key for signing; retired keys still verify until removed."""

    def __init__(self, keys: Iterable[SigningKey], active_kid: str) -> None:
        self._keys: dict[str, SigningKey] = {}
        for key in keys:
            if key.kid in self._keys:
                raise ValueError(f"duplicate kid {key.kid!r}")
            self._keys[key.kid] = key
        if active_kid not in self._keys:
            raise ValueError(f"active kid {active_kid!r} is not in the key ring")
        if self._keys[active_kid].signing_key is None:
            raise ValueError(f"active kid {active_kid!r} has no signing key")
        self.active_kid = active_kid

    @classmethod
    def single(cls, kid: str, signing_key: Any, verification_key: Any = None) -> KeyRing:
        return cls([SigningKey(kid, signing_key, verification_key)], kid)

    @property
    def active(self) -> SigningKey:
        return self._keys[self.active_kid]

    @property
    def kids(self) -> Mapping[str, SigningKey]:
        return dict(self._keys)

    def get(self, kid: object) -> SigningKey:
        """The key named by a token header; an unknown or missing kid is AUTH_1007."""
        if not isinstance(kid, str) or kid not in self._keys:
            raise AuthenticationError("AUTH_1007", details={"kid": kid if isinstance(kid, str) else None})
        return self._keys[kid]

    def rotate(self, new_key: SigningKey, *, retire: Iterable[str] = ()) -> None:
        """Add ``new_key``, make it active and drop the ``retire`` kids (their tokens stop verifying)."""
        if new_key.signing_key is None:
            raise ValueError("the new active key needs a signing key")
        self._keys[new_key.kid] = new_key
        self.active_kid = new_key.kid
        for kid in retire:
            if kid != new_key.kid:
                self._keys.pop(kid, None)

    def __repr__(self) -> str:
        return f"KeyRing(kids={sorted(self._keys)!r}, active_kid={self.active_kid!r})"
