"""What parsing one response yields: the announcements, the rejected items and paging facts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from aegis_shared.errors import AegisError
from aegis_shared.models import Announcement


def json_bytes(item: Any) -> bytes:
    """One JSON item as the source sent it (UTF-8, non-ASCII kept)."""
    return json.dumps(item, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class SourceRejection:
    """An input item that did not become an announcement, with the reason and its code."""

    source: str
    source_id: str | None
    code: str
    reason: str
    raw: Any
    # The item exactly as the source sent it (its XML element, JSON object or page), when known.
    original: bytes | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "source_id": self.source_id, "code": self.code, "reason": self.reason}

    def original_bytes(self) -> bytes:
        """The bytes to keep and dead-letter: the source's own bytes, else the item as JSON."""
        if self.original is not None:
            return self.original
        if isinstance(self.raw, bytes):
            return self.raw
        if isinstance(self.raw, str):
            return self.raw.encode("utf-8")
        return json.dumps(self.raw, ensure_ascii=False, default=str).encode("utf-8")


@dataclass(slots=True)
class SourcePage:
    """One parsed response. ``total_count`` and ``page`` are ``None`` when the body omits them."""

    source: str
    records: list[Announcement] = field(default_factory=list)
    rejected: list[SourceRejection] = field(default_factory=list)
    total_count: int | None = None
    page: int | None = None

    @property
    def item_count(self) -> int:
        """Items the body held: every one is either a record or a rejection."""
        return len(self.records) + len(self.rejected)


def build_page(
    source: str,
    items: Iterable[Any],
    mapper: Callable[[Mapping[str, Any]], Announcement],
    *,
    id_of: Callable[[Any], str | None],
    total_count: int | None = None,
    page: int | None = None,
    originals: Sequence[bytes | None] | None = None,
) -> SourcePage:
    """Map every item; an item that fails becomes a :class:`SourceRejection`, never a silent drop.

    ``originals`` (parallel to ``items``) are the items' own bytes, kept with their rejections.
    """
    result = SourcePage(source=source, total_count=total_count, page=page)
    for index, item in enumerate(items):
        original = originals[index] if originals is not None and index < len(originals) else None
        if not isinstance(item, Mapping):
            reason = f"item is {type(item).__name__}, not an object"
            result.rejected.append(SourceRejection(source, None, "DP_1004", reason, item, original))
            continue
        source_id = id_of(item)
        try:
            result.records.append(mapper(item))
        except AegisError as exc:
            result.rejected.append(
                SourceRejection(source, source_id, exc.code, exc.message, dict(item), original)
            )
        except PydanticValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            result.rejected.append(
                SourceRejection(source, source_id, "DP_2001", reason, dict(item), original)
            )
    return result
