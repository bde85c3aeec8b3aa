"""What parsing one response yields: the announcements, the rejected items and paging facts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from aegis_shared.errors import AegisError
from aegis_shared.models import Announcement


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input item that did not become an announcement, with the reason and its code."""

    source: str
    source_id: str | None
    code: str
    reason: str
    raw: Any

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "source_id": self.source_id, "code": self.code, "reason": self.reason}


@dataclass(slots=True)
class SourcePage:
    """One parsed response. ``total_count`` and ``page`` are ``None`` when the body omits them."""

    source: str
    records: list[Announcement] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
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
) -> SourcePage:
    """Map every item; an item that fails becomes a :class:`Rejection`, never a silent drop."""
    result = SourcePage(source=source, total_count=total_count, page=page)
    for item in items:
        source_id = id_of(item) if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping):
            result.rejected.append(
                Rejection(source, None, "DP_1004", f"item is {type(item).__name__}, not an object", item)
            )
            continue
        try:
            result.records.append(mapper(item))
        except AegisError as exc:
            result.rejected.append(Rejection(source, source_id, exc.code, exc.message, dict(item)))
        except PydanticValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            result.rejected.append(Rejection(source, source_id, "DP_2001", reason, dict(item)))
    return result
