"""Symmetric encryption and password hashing, from well-kept libraries only.

* Encryption is ``cryptography``'s Fernet (AES-128-CBC with HMAC-SHA256, a timestamp and a
  version byte): authenticated, so a tampered or foreign token is refused rather than decrypted
  to garbage. :class:`Encryptor` takes several keys, newest first (``MultiFernet``), so keys can be
  rotated: new tokens use the first key, old tokens still decrypt, and :meth:`Encryptor.rotate`
  re-encrypts them under the newest. Keys come from ``AEGIS_ENCRYPTION_KEYS`` (or its ``_FILE``).
* Passwords are hashed with Argon2id (``argon2-cffi``, the OWASP first choice) at the library's
  current parameters; :func:`password_needs_rehash` says when a stored hash was made with weaker
  ones, so it can be upgraded at the next login.

Nothing here implements a primitive: no hand-written crypto.
"""

from __future__ import annotations

from collections.abc import Sequence

from aegis_shared._extras import require_extra

# Before the imports it guards: without the extra, the error names the pip install line.
require_extra("crypto", "aegis_shared.utils.crypto")

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from aegis_shared.errors import AuthenticationError, SystemError_, ValidationError

_HASHER = PasswordHasher()


def generate_key() -> str:
    """A new random Fernet key (URL-safe base64, 32 bytes), for ``AEGIS_ENCRYPTION_KEYS``."""
    return Fernet.generate_key().decode("ascii")


class Encryptor:
    """Encrypts and decrypts text or bytes with one or more Fernet keys (newest first)."""

    def __init__(self, keys: Sequence[str | bytes | SecretStr]) -> None:
        if not keys:
            raise SystemError_("SYS_7023", "no encryption key given")
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            raw = key.get_secret_value() if isinstance(key, SecretStr) else key
            try:
                fernets.append(Fernet(raw.strip()))
            except (ValueError, TypeError):
                # The key itself is never echoed: only which one in the list is wrong.
                raise SystemError_(
                    "SYS_7023",
                    f"encryption key #{position} is not a Fernet key (32 bytes, URL-safe base64)",
                ) from None
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_setting(cls, value: SecretStr | str) -> Encryptor:
        """From a comma-separated list of keys, newest first (``AEGIS_ENCRYPTION_KEYS``)."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        keys = [k.strip() for k in text.split(",") if k.strip()]
        if not keys:
            raise SystemError_(
                "SYS_7020",
                "AEGIS_ENCRYPTION_KEYS is not set (nor AEGIS_ENCRYPTION_KEYS_FILE)",
                details={"missing": ["AEGIS_ENCRYPTION_KEYS"]},
            )
        return cls(keys)

    def encrypt(self, data: str | bytes) -> str:
        """A token (URL-safe text) holding ``data``; text is encoded as UTF-8."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return self._fernet.encrypt(raw).decode("ascii")

    def decrypt_bytes(self, token: str | bytes, *, max_age_seconds: int | None = None) -> bytes:
        """The bytes in ``token``; raises ``VALID_3024`` if it was altered, made with another key,
        or is older than ``max_age_seconds``."""
        try:
            return self._fernet.decrypt(token, ttl=max_age_seconds)
        except InvalidToken:
            raise ValidationError(
                "VALID_3024",
                "encrypted value rejected: altered, made with another key, or expired",
            ) from None

    def decrypt(self, token: str | bytes, *, max_age_seconds: int | None = None) -> str:
        """The text in ``token`` (see :meth:`decrypt_bytes`)."""
        return self.decrypt_bytes(token, max_age_seconds=max_age_seconds).decode("utf-8")

    def rotate(self, token: str | bytes) -> str:
        """``token`` re-encrypted under the newest key (after a key was added in front)."""
        try:
            return self._fernet.rotate(token).decode("ascii")
        except InvalidToken:
            raise ValidationError(
                "VALID_3024", "encrypted value rejected: altered or made with an unknown key"
            ) from None


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` with a random salt, in the PHC string format."""
    if not password:
        raise ValidationError("VALID_3025", "password is empty")
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; a stored value that is no Argon2 hash raises
    ``AUTH_1020`` (a data problem to fix, not a wrong password)."""
    try:
        return _HASHER.verify(stored_hash, password)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError):
        raise AuthenticationError("AUTH_1020", "stored password hash is not a valid Argon2 hash") from None


def password_needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with weaker parameters than the current ones."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        raise AuthenticationError("AUTH_1020", "stored password hash is not a valid Argon2 hash") from None
