"""Ministry RSS feeds (korea.kr ``dept_*.xml``, ``policy.xml``…), read with feedparser.

Feeds get renamed (``dept_motie`` → ``dept_motir``): a feed that fails is reported and the
other feeds are still collected; only when every feed fails does the source fail.
"""

from __future__ import annotations

import xml.sax  # nosec B406 # only SAXException, for isinstance; feedparser parses
from collections.abc import Mapping
from datetime import date
from typing import Any

import feedparser

from aegis_orchestration.sources.connector import CollectionResult
from aegis_orchestration.sources.days import parse_day
from aegis_orchestration.sources.decoding import decode_for
from aegis_orchestration.sources.errors import RejectedRecordError, SourceError, excerpt
from aegis_orchestration.sources.fields import absolute_url, required_text, text_or_none
from aegis_orchestration.sources.http import SourceHttpClient
from aegis_orchestration.sources.page import SourcePage, build_page
from aegis_orchestration.sources.xmldoc import _DECLARATION
from aegis_shared.models import Announcement
from aegis_shared.text import split_region_prefix

SOURCE = "rss"
PUBLIC_BASE = "https://www.korea.kr"
DEFAULT_FEEDS: tuple[str, ...] = (
    "/rss/dept_mss.xml",
    "/rss/dept_msit.xml",
    "/rss/dept_motir.xml",
    "/rss/policy.xml",
    "/rss/pressrelease.xml",
)


def map_entry(entry: Mapping[str, Any]) -> Announcement:
    link = absolute_url(entry.get("link"), PUBLIC_BASE)
    source_id = text_or_none(entry.get("id")) or link
    if not source_id:
        raise RejectedRecordError("DP_2005", "feed item has neither guid nor link", details={"field": "guid"})
    prefix_codes, title = split_region_prefix(required_text(entry.get("title"), "title"))
    return Announcement(
        source=SOURCE,
        source_id=source_id,
        title=title,
        organization=text_or_none(entry.get("feed_title")),
        summary=text_or_none(entry.get("summary")),
        url=link,
        region_codes=prefix_codes,
        # pubDate, in Seoul time: the day the ministry posted it.
        registered_on=parse_day(entry.get("published")),
        raw={k: v for k, v in entry.items() if isinstance(v, str | int | float | bool) or v is None},
    )


def parse(text: str) -> SourcePage:
    """Parse one feed; a body that is not a well-formed feed is DP_1004, never an empty page."""
    # feedparser re-decodes bytes itself; hand it text without the now-false encoding declaration.
    feed = feedparser.parse(_DECLARATION.sub("", text, count=1).lstrip())
    error = feed.get("bozo_exception")
    if (feed.get("bozo") and isinstance(error, xml.sax.SAXException)) or not feed.get("version"):
        raise SourceError(
            "DP_1004",
            f"malformed feed: {error or 'not RSS/Atom'}",
            source=SOURCE,
            details={"excerpt": excerpt(text)},
        )
    title = feed.feed.get("title")
    entries = [{**dict(entry), "feed_title": title} for entry in feed.entries]
    return build_page(
        SOURCE, entries, map_entry, id_of=lambda e: e.get("id") or e.get("link"), total_count=len(entries)
    )


class RssConnector:
    """Fetches every configured feed; isolates per-feed failures such as a renamed feed's 404."""

    source = SOURCE

    def __init__(self, feeds: tuple[str, ...] = DEFAULT_FEEDS) -> None:
        self.feeds = feeds

    def collect(self, client: SourceHttpClient, day: date | None = None) -> CollectionResult:
        """Every feed once; with ``day``, only the entries published that day (Seoul time).

        A feed is one document with no date filter, so each partition reads it once and keeps
        its day's entries. A feed that fails is a :class:`FeedFailure`; only when every feed
        fails does the source fail.
        """
        result = CollectionResult(source=SOURCE, day=day)
        failures: list[SourceError] = []
        for feed in self.feeds:
            try:
                page = client.fetch(feed, {}, lambda r: parse(decode_for(SOURCE, r.body, r.content_type)))
            except SourceError as exc:
                if exc.code == "EXT_5011":
                    raise
                failures.append(exc)
                result.fail(feed, exc.code, exc.message)
                continue
            result.add(page)
        result.requests = client.requests_sent
        if failures and len(failures) == len(self.feeds):
            first = failures[0]
            raise SourceError(first.code, f"every feed failed: {'; '.join(result.notes)}", source=SOURCE)
        return result
