"""The one parsing entry point: ``parse(source, body, content_type)`` for every source."""

from __future__ import annotations

from collections.abc import Callable

from aegis_orchestration.sources import bizinfo
from aegis_orchestration.sources.errors import SourceError
from aegis_orchestration.sources.page import SourcePage
from aegis_shared.text import CharsetError, decode_body

Parser = Callable[[str], SourcePage]

_PARSERS: dict[str, Parser] = {"bizinfo": bizinfo.parse}


def register_parser(source: str, parser: Parser) -> None:
    """Register a source's text parser (each connector module registers itself on import)."""
    _PARSERS[source] = parser


def parse(source: str, body: bytes, content_type: str | None = None) -> SourcePage:
    """Decode ``body`` (declared or detected charset) and parse it as ``source``'s response.

    Returns the page's announcements, rejected items, total count and page number. Raises
    :class:`SourceError` for error bodies (bad key, rate limit, gateway errors, malformed data).
    """
    parser = _PARSERS.get(source)
    if parser is None:
        raise SourceError("DP_1006", f"unknown source {source!r}", source=source, details={"known": sorted(_PARSERS)})
    try:
        text = decode_body(body, content_type)
    except CharsetError as exc:
        raise SourceError("DP_1007", exc.message, source=source, details=exc.details) from exc
    if not text.strip():
        raise SourceError("DP_1004", "empty body", source=source)
    return parser(text)
