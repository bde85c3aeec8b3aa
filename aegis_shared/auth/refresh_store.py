"""Where used refresh-token ids and revoked token families are remembered.

Rotation hands out a new refresh token each time one is used. Every token carries its own id
(``jti``) and the id of its login session (``fam``). Using a ``jti`` twice means a copy was
stolen, so the whole family is revoked (the OAuth 2.0 Security BCP's reuse detection).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from aegis_shared.errors import ExternalServiceError

if TYPE_CHECKING:
    import redis

T = TypeVar("T")


@runtime_checkable
class RefreshTokenStore(Protocol):
    def mark_used(self, jti: str, ttl_seconds: int) -> bool:
        """Atomically record ``jti`` as used; return ``False`` if it already was."""
        ...

    def revoke_family(self, family: str, ttl_seconds: int) -> None: ...

    def is_family_revoked(self, family: str) -> bool: ...


class InMemoryRefreshTokenStore:
    """A single-process store for tests and one-instance services."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: dict[str, float] = {}
        self._revoked: dict[str, float] = {}

    def _purge(self, now: float) -> None:
        for table in (self._used, self._revoked):
            for key in [k for k, expiry in table.items() if expiry <= now]:
                del table[key]

    def mark_used(self, jti: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        with self._lock:
            self._purge(now)
            if jti in self._used:
                return False
            self._used[jti] = now + max(ttl_seconds, 1)
            return True

    def revoke_family(self, family: str, ttl_seconds: int) -> None:
        with self._lock:
            self._revoked[family] = time.monotonic() + max(ttl_seconds, 1)

    def is_family_revoked(self, family: str) -> bool:
        with self._lock:
            self._purge(time.monotonic())
            return family in self._revoked


class RedisRefreshTokenStore:
    """A store shared by every instance of a service; entries expire with the tokens they guard.

    Unlike the cache, this store does not degrade when Redis is down: refusing a refresh is
    safer than accepting a possibly replayed one, so Redis errors surface as EXT_5006.
    """

    def __init__(self, client: redis.Redis, *, prefix: str = "aegis:auth:refresh") -> None:
        # Imported here: whoever hands us a Redis client has redis; the auth extra alone does not.
        from redis import RedisError

        self._client = client
        self._prefix = prefix
        self._errors = RedisError

    def _guard(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except self._errors as exc:
            raise ExternalServiceError("EXT_5006", details={"operation": "refresh_token_store"}) from exc

    def mark_used(self, jti: str, ttl_seconds: int) -> bool:
        key = f"{self._prefix}:used:{jti}"
        return bool(self._guard(lambda: self._client.set(key, b"1", nx=True, ex=max(ttl_seconds, 1))))

    def revoke_family(self, family: str, ttl_seconds: int) -> None:
        key = f"{self._prefix}:revoked:{family}"
        self._guard(lambda: self._client.set(key, b"1", ex=max(ttl_seconds, 1)))

    def is_family_revoked(self, family: str) -> bool:
        key = f"{self._prefix}:revoked:{family}"
        return bool(self._guard(lambda: self._client.exists(key)))
