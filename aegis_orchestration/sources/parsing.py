"""The one parsing entry point: ``parse(source, body, content_type)`` for every source.

Each source's parser is named by its row of the source table
(:mod:`aegis_orchestration.sources.registry`); decoding is :func:`decode_for`, in the leaf module
:mod:`aegis_orchestration.sources.decoding` that connectors import directly.
"""

from __future__ import annotations

from aegis_orchestration.sources.decoding import decode_for
from aegis_orchestration.sources.page import SourcePage
from aegis_orchestration.sources.registry import spec_for

__all__ = ["decode_for", "parse"]


def parse(source: str, body: bytes, content_type: str | None = None) -> SourcePage:
    """Decode ``body`` (declared or detected charset) and parse it as ``source``'s response.

    Returns the page's announcements, rejected items, total count and page number. Raises
    :class:`SourceError` for error bodies (bad key, rate limit, gateway errors, malformed data),
    and DP_1006 for a source the table does not know.
    """
    return spec_for(source).parser(decode_for(source, body, content_type))
