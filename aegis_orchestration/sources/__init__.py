"""Public sources of support-programme announcements: connectors, parsing and the snapshot.

``parse(source, body, content_type)`` turns one response body of any source into a
:class:`SourcePage`; connectors page through a source over resilient HTTP. Every source is one
row of the source table, :mod:`aegis_orchestration.sources.registry`.

``parse`` is loaded on first use: importing a light module of this package (``errors``,
``decoding``, ``page``) must not load every connector and their HTML/XML/feed libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aegis_orchestration.sources.errors import RejectedRecordError, SourceError
from aegis_orchestration.sources.page import SourcePage, SourceRejection

if TYPE_CHECKING:
    from aegis_orchestration.sources.parsing import parse

__all__ = ["RejectedRecordError", "SourceError", "SourcePage", "SourceRejection", "parse"]


def __getattr__(name: str) -> Any:
    if name == "parse":
        from aegis_orchestration.sources.parsing import parse

        return parse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
