"""Redaction of secrets and personal data from log event dicts.

Why a processor and not discipline: URLs of the public data portal carry the service key in the
query string, and exception messages echo payloads with e-mails and phone numbers. Every log line
passes through :func:`redact` before it is rendered, so nothing relies on the caller remembering.

What counts as an e-mail or a phone number is defined once, in :mod:`aegis_shared.utils.contacts`,
which the MSS connector's field masking and the validators use too. Logs replace the whole value
(``[EMAIL]``, ``[PHONE]``) rather than the partial mask stored records keep: a log line needs to
say that a contact was there, never whose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from aegis_shared.utils.contacts import EMAIL_IN_TEXT, PHONE_IN_TEXT

REDACTED = "[REDACTED]"
EMAIL_MASK = "[EMAIL]"
PHONE_MASK = "[PHONE]"

# Keys whose whole value is secret. Matched as a substring, case-insensitively, so
# ``db_password``, ``refresh_token`` and ``X-Api-Key`` are caught too.
SECRET_KEY_PATTERN = re.compile(
    r"passw(or)?d|pwd|token|secret|api[_-]?key|authorization|service[_-]?key|crtfc[_-]?key"
    r"|private[_-]?key|credential|cookie",
    re.IGNORECASE,
)

# Credentials carried in URLs (``?serviceKey=...&crtfcKey=...``) and in header-like text.
_URL_SECRET = re.compile(
    r"(?i)([?&;](?:service_?key|crtfc_?key|api_?key|access_?token|token|secret|password|key)=)[^&\s#\"']+"
)
# ``password=...`` / ``"token": "..."`` written into free text (f-strings, exception messages).
_INLINE_SECRET = re.compile(
    r"(?i)\b((?:passw(?:or)?d|pwd|secret|token|api_?key|service_?key|crtfc_?key)[\"']?\s*[=:]\s*[\"']?)"
    r"[^\s&,;\"'}]+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]+:)[^@/\s]+@")


# Exact secret values known to this process (API keys from Settings). A key pasted into free
# text without any ``key=`` marker can only be caught by knowing its value.
_known_secrets: set[str] = set()
_known_pattern: re.Pattern[str] | None = None
_MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words


def register_secrets(*values: str) -> None:
    """Mask these exact values wherever they appear in log output (and their URL-encoded form)."""
    global _known_pattern
    from urllib.parse import quote

    for value in values:
        if value and len(value) >= _MIN_SECRET_LENGTH:
            _known_secrets.update({value, quote(value, safe="")})
    if _known_secrets:
        # Longest first, so a value that contains another is masked whole.
        alternatives = sorted(_known_secrets, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(v) for v in alternatives))


def clear_registered_secrets() -> None:
    global _known_pattern
    _known_secrets.clear()
    _known_pattern = None


def mask_text(text: str) -> str:
    """Mask credentials, e-mails and phone numbers inside free text."""
    if _known_pattern is not None:
        text = _known_pattern.sub(REDACTED, text)
    text = _URL_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    text = _INLINE_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _BEARER.sub(lambda m: m.group(1) + " " + REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    text = EMAIL_IN_TEXT.sub(EMAIL_MASK, text)
    return PHONE_IN_TEXT.sub(PHONE_MASK, text)


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and SECRET_KEY_PATTERN.search(key) is not None


def redact_value(value: Any) -> Any:
    """Return ``value`` with secret-keyed entries replaced and every string masked, recursively."""
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {k: REDACTED if is_secret_key(k) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return mask_text(bytes(value).decode("utf-8", errors="replace"))
    # Anything else would be rendered through repr()/str(), which can leak its attributes.
    return mask_text(str(value))


def redact(_logger: Any, _method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: redact secrets and personal data anywhere in the event dict."""
    for key in list(event_dict):
        event_dict[key] = REDACTED if is_secret_key(key) else redact_value(event_dict[key])
    return event_dict
