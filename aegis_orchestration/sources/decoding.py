"""Turning a response body into text, shared by every parser and connector.

A leaf module on purpose: connectors decode their own bodies, and importing it loads no
connector, parser or HTML/XML library (the source table imports the connectors, never the
other way round).
"""

from __future__ import annotations

from aegis_orchestration.sources.errors import SourceError
from aegis_shared.text import CharsetError, decode_body


def decode_for(source: str, body: bytes, content_type: str | None) -> str:
    """Decode a body by declared or detected charset; undecodable bytes are DP_1007."""
    try:
        text = decode_body(body, content_type)
    except CharsetError as exc:
        raise SourceError("DP_1007", exc.message, source=source, details=exc.details) from exc
    if not text.strip():
        raise SourceError("DP_1004", "empty body", source=source)
    return text
