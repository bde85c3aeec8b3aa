"""The one parsing entry point: ``parse(source, body, content_type)`` for every source."""

from __future__ import annotations

from collections.abc import Callable

from aegis_orchestration.sources import bizinfo, kstartup, mss, rss, web
from aegis_orchestration.sources.errors import SourceError
from aegis_orchestration.sources.page import SourcePage
from aegis_shared.text import CharsetError, decode_body

Parser = Callable[[str], SourcePage]

PARSERS: dict[str, Parser] = {
    "bizinfo": bizinfo.parse,
    "kstartup": kstartup.parse,
    "mss": mss.parse,
    "rss": rss.parse,
    "web": web.parse,
}


def decode_for(source: str, body: bytes, content_type: str | None) -> str:
    """Decode a body by declared or detected charset; undecodable bytes are DP_1007."""
    try:
        text = decode_body(body, content_type)
    except CharsetError as exc:
        raise SourceError("DP_1007", exc.message, source=source, details=exc.details) from exc
    if not text.strip():
        raise SourceError("DP_1004", "empty body", source=source)
    return text


def parse(source: str, body: bytes, content_type: str | None = None) -> SourcePage:
    """Decode ``body`` (declared or detected charset) and parse it as ``source``'s response.

    Returns the page's announcements, rejected items, total count and page number. Raises
    :class:`SourceError` for error bodies (bad key, rate limit, gateway errors, malformed data).
    """
    parser = PARSERS.get(source)
    if parser is None:
        raise SourceError(
            "DP_1006", f"unknown source {source!r}", source=source, details={"known": sorted(PARSERS)}
        )
    return parser(decode_for(source, body, content_type))
