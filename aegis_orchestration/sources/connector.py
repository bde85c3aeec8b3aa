"""The paging loop every API connector shares, and the result of collecting one source.

Collecting with a ``day`` collects that day's partition: what the source registered or updated on
that day (Asia/Seoul). A source with its own date filter gets it in the request
(:meth:`PagedConnector.day_params`); otherwise the list, newest first, is read until it is older
than the day, and only the day's items are kept (see :mod:`aegis_orchestration.sources.days`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aegis_orchestration.sources.days import raw_days, record_days
from aegis_orchestration.sources.decoding import decode_for
from aegis_orchestration.sources.http import HttpResponse, SourceHttpClient
from aegis_orchestration.sources.page import SourcePage, SourceRejection
from aegis_shared.models import Announcement

MAX_PAGES = 1000  # a server that ignores paging must not loop forever


@dataclass(frozen=True, slots=True)
class FeedFailure:
    """A feed, list page or detail page that could not be read; the rest of the source still was."""

    target: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"target": self.target, "code": self.code, "message": self.message}


@dataclass(slots=True)
class CollectionResult:
    """Everything one collection of one source produced."""

    source: str
    records: list[Announcement] = field(default_factory=list)
    rejected: list[SourceRejection] = field(default_factory=list)
    pages: int = 0
    requests: int = 0
    notes: list[str] = field(default_factory=list)
    day: date | None = None
    # Items read but belonging to other days (a newest-first list is read down to the day).
    outside_day: int = 0
    failures: list[FeedFailure] = field(default_factory=list)

    def add(self, page: SourcePage) -> None:
        self.pages += 1
        if self.day is None:
            self.records.extend(page.records)
            self.rejected.extend(page.rejected)
            return
        for record in page.records:
            if on_day(record_days(record), self.day):
                self.records.append(record)
            else:
                self.outside_day += 1
        for rejection in page.rejected:
            if on_day(raw_days(rejection.source, rejection.raw), self.day):
                self.rejected.append(rejection)
            else:
                self.outside_day += 1

    def fail(self, target: str, code: str, message: str) -> None:
        self.failures.append(FeedFailure(target, code, message))
        self.notes.append(f"{target}: [{code}] {message}")


def on_day(days: set[date] | None, day: date) -> bool:
    """Whether an item with these registration/update days belongs to ``day``'s partition.

    An item that states no date cannot be placed, so every day keeps it (landing is idempotent).
    """
    return not days or day in days


def oldest_change(page: SourcePage) -> date | None:
    """The oldest "last change" on a page: in a newest-first list, everything after is older."""
    latest: list[date] = []
    for record in page.records:
        if days := record_days(record):
            latest.append(max(days))
    for rejection in page.rejected:
        if days := raw_days(rejection.source, rejection.raw):
            latest.append(max(days))
    return min(latest) if latest else None


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

    def day_params(self, day: date) -> dict[str, Any] | None:
        """The source's own filter for ``day``, or ``None`` when it has none (the default)."""
        return None

    def parse_text(self, text: str) -> SourcePage:
        """Parse one decoded body; each subclass sets ``parse_text = staticmethod(parse)``."""
        raise NotImplementedError

    def parse_response(self, response: HttpResponse) -> SourcePage:
        return self.parse_text(decode_for(self.source, response.body, response.content_type))

    def has_more(self, page: SourcePage, number: int, seen: int) -> bool:
        """Whether to ask for page ``number + 1`` after ``seen`` items so far."""
        if page.item_count == 0:
            return False
        if page.total_count is not None:
            return seen < page.total_count
        return page.item_count >= self.per_page

    def pages(self, client: SourceHttpClient, day: date | None = None) -> Iterator[SourcePage]:
        """Every page to the end (or, for ``day`` without a server filter, down to that day).

        Raises :class:`SourceError` if any page fails after retries.
        """
        filtered = self.day_params(day) if day is not None else None
        seen = 0
        for number in range(1, MAX_PAGES + 1):
            params = {**self.params(number), **(filtered or {})}
            page = client.fetch(self.path, params, self.parse_response)
            if page.page is None:
                page.page = number
            seen += page.item_count
            yield page
            if not self.has_more(page, number, seen):
                return
            if day is not None and filtered is None:
                oldest = oldest_change(page)
                if oldest is not None and oldest < day:
                    return  # the list is newest first: the rest is older than the day

    def collect(self, client: SourceHttpClient, day: date | None = None) -> CollectionResult:
        result = CollectionResult(source=self.source, day=day)
        for page in self.pages(client, day):
            result.add(page)
        result.requests = client.requests_sent
        return result
