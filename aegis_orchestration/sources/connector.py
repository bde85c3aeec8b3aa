"""The paging loop every API connector shares, and the result of collecting one source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aegis_orchestration.sources.http import HttpResponse, SourceHttpClient
from aegis_orchestration.sources.page import Rejection, SourcePage
from aegis_shared.models import Announcement

MAX_PAGES = 1000  # a server that ignores paging must not loop forever


@dataclass(slots=True)
class CollectionResult:
    """Everything one collection of one source produced."""

    source: str
    records: list[Announcement] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    pages: int = 0
    requests: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, page: SourcePage) -> None:
        self.records.extend(page.records)
        self.rejected.extend(page.rejected)
        self.pages += 1


class PagedConnector:
    """A source served page by page at one path. Subclasses name the path and parameters."""

    source: str = ""
    path: str = ""
    default_per_page: int = 100

    def __init__(self, *, key: str = "", per_page: int | None = None) -> None:
        self.key = key
        self.per_page = per_page or self.default_per_page

    def params(self, page: int) -> dict[str, Any]:
        """Query parameters for ``page`` (1-based), including the key exactly once."""
        raise NotImplementedError

    def parse_response(self, response: HttpResponse) -> SourcePage:
        from aegis_orchestration.sources.parsing import parse  # parsing imports every connector

        return parse(self.source, response.body, response.content_type)

    def has_more(self, page: SourcePage, number: int, seen: int) -> bool:
        """Whether to ask for page ``number + 1`` after ``seen`` items so far."""
        if page.item_count == 0:
            return False
        if page.total_count is not None:
            return seen < page.total_count
        return page.item_count >= self.per_page

    def pages(self, client: SourceHttpClient) -> Iterator[SourcePage]:
        """Every page to the end; raises :class:`SourceError` if any page fails after retries."""
        seen = 0
        for number in range(1, MAX_PAGES + 1):
            page = client.fetch(self.path, self.params(number), self.parse_response)
            if page.page is None:
                page.page = number
            seen += page.item_count
            yield page
            if not self.has_more(page, number, seen):
                return

    def collect(self, client: SourceHttpClient) -> CollectionResult:
        result = CollectionResult(source=self.source)
        for page in self.pages(client):
            result.add(page)
        result.requests = client.requests_sent
        return result
