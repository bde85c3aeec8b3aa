"""Local-government notice boards: list pages lead to detail pages, read with selectolax.

Each site's selectors live in ``web_sites.yaml``, so a new site is configuration, not code.
Pages may be EUC-KR and declare it only in ``<meta charset>``. A detail page that cannot be
fetched or read is a rejection with its code, never a silent drop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import yaml
from selectolax.lexbor import LexborHTMLParser, LexborNode

from aegis_orchestration.sources.connector import MAX_PAGES, CollectionResult
from aegis_orchestration.sources.days import parse_day
from aegis_orchestration.sources.decoding import decode_for
from aegis_orchestration.sources.errors import SourceError, excerpt
from aegis_orchestration.sources.fields import absolute_url, required_id, required_text, text_or_none
from aegis_orchestration.sources.http import HttpResponse, SourceHttpClient
from aegis_orchestration.sources.page import SourcePage, SourceRejection, build_page
from aegis_shared.models import Announcement, Attachment
from aegis_shared.text import collapse_whitespace, parse_period, region_codes, split_region_prefix

SOURCE = "web"
_PERIOD_LABEL = re.compile(r"^\s*(접수|신청|모집)?\s*기간\s*[:：]\s*")


@dataclass(frozen=True, slots=True)
class Site:
    """One site's paths and selectors (see ``web_sites.yaml``)."""

    name: str
    organization: str
    region: str
    public_base: str
    list_path: str
    page_param: str
    list_marker: str
    row: str
    row_link: str
    next: str
    detail_marker: str
    detail: dict[str, str]
    row_date: str | None = None  # the posted date on a list row, when the board shows one


@cache
def load_sites() -> dict[str, Site]:
    """The bundled site configuration."""
    text = resources.files(__package__).joinpath("web_sites.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)["sites"]
    return {name: Site(name=name, **config) for name, config in raw.items()}


def _select(tree: LexborHTMLParser | LexborNode, spec: str) -> str | None:
    """``selector`` → node text; ``attr@selector`` → attribute value."""
    attr, _, selector = spec.rpartition("@") if "@" in spec else ("", "", spec)
    node = tree.css_first(selector)
    if node is None:
        return None
    if attr:
        return node.attributes.get(attr)
    for script in node.css("script, style"):
        script.decompose()
    return collapse_whitespace(node.text(separator=" "))


def _site_of(tree: LexborHTMLParser) -> tuple[Site, str]:
    for site in load_sites().values():
        if tree.css_first(site.detail_marker) is not None:
            return site, "detail"
        if tree.css_first(site.list_marker) is not None:
            return site, "list"
    raise SourceError("DP_1004", "page matches no configured site", source=SOURCE)


def map_detail(tree: LexborHTMLParser, site: Site, link: str | None = None) -> Announcement:
    """One detail page → an announcement; links resolve against the site's public address."""
    base = site.public_base
    fields = site.detail
    source_id = required_id(_select(tree, fields["id"]), "id")
    prefix_codes, title = split_region_prefix(required_text(_select(tree, fields["title"]), "title"))
    period = parse_period(_PERIOD_LABEL.sub("", _select(tree, fields["period"]) or ""))
    posted = _select(tree, fields["posted"]) if "posted" in fields else None
    files: list[Attachment] = []
    for node in tree.css(fields["attachments"]):
        name = collapse_whitespace(node.text())
        if name:
            files.append(Attachment(name=name, url=absolute_url(node.attributes.get("href"), base)))
    return Announcement(
        source=SOURCE,
        source_id=f"{site.name}:{source_id}",
        title=title,
        organization=site.organization,
        executing_organization=text_or_none(_select(tree, fields["organization"])),
        summary=text_or_none(_select(tree, fields["summary"])),
        url=absolute_url(link, base) if link else None,
        period_start=period.start,
        period_end=period.end,
        period_open_ended=period.open_ended,
        period_note=period.note,
        region_codes=sorted(set(prefix_codes) | set(region_codes(site.region))),
        attachments=files,
        registered_on=parse_day(posted),
        raw={
            "site": site.name,
            "id": source_id,
            "title": _select(tree, fields["title"]),
            "period": _select(tree, fields["period"]),
            "posted": posted,
        },
    )


def list_rows(tree: LexborHTMLParser, site: Site) -> tuple[list[tuple[str, date | None]], bool]:
    """Detail links on a list page with each row's posted date, and whether a next page exists."""
    rows: list[tuple[str, date | None]] = []
    for row in tree.css(site.row):
        node = row.css_first(site.row_link)
        href = node.attributes.get("href") if node is not None else None
        if not href:
            continue
        posted = _select(row, site.row_date) if site.row_date else None
        rows.append((href, parse_day(posted)))
    return rows, tree.css_first(site.next) is not None


def parse(text: str) -> SourcePage:
    """A detail page gives one record; a list page gives none (its links are read by the connector)."""
    tree = LexborHTMLParser(text)
    site, kind = _site_of(tree)
    if kind == "list":
        return SourcePage(source=SOURCE, total_count=None)
    return build_page(SOURCE, [{"_": 0}], lambda _: map_detail(tree, site), id_of=lambda _: None)


class WebConnector:
    """Walks each configured site's list pages, then fetches and parses the detail pages.

    With a ``day``, a board (newest first) is read until its rows are older than the day, and
    only that day's detail pages are fetched. A list page that fails is a :class:`FeedFailure`
    and the other sites still collect; a detail page that fails is a failure and a rejection
    (its item is known to exist), never a silent drop.
    """

    source = SOURCE

    def __init__(self, sites: tuple[str, ...] | None = None) -> None:
        self.sites = sites

    def collect(self, client: SourceHttpClient, day: date | None = None) -> CollectionResult:
        result = CollectionResult(source=SOURCE, day=day)
        sites = load_sites()
        names = self.sites or tuple(sites)
        failed: list[SourceError] = []
        for name in names:
            site = sites[name]
            try:
                links = self._links(client, site, day, result)
            except SourceError as exc:
                if exc.code == "EXT_5011":
                    raise
                failed.append(exc)
                result.fail(f"{site.name}:{site.list_path}", exc.code, exc.message)
                continue
            for link in links:
                self._collect_detail(client, site, link, result)
        result.requests = client.requests_sent
        if failed and len(failed) == len(names):
            raise SourceError(failed[0].code, f"every site failed: {'; '.join(result.notes)}", source=SOURCE)
        return result

    def _links(
        self, client: SourceHttpClient, site: Site, day: date | None, result: CollectionResult
    ) -> list[str]:
        def read_list(response: HttpResponse) -> tuple[list[tuple[str, date | None]], bool]:
            tree = LexborHTMLParser(decode_for(SOURCE, response.body, response.content_type))
            if tree.css_first(site.list_marker) is None:
                raise SourceError(
                    "DP_1004",
                    f"{site.name} list page has no board",
                    source=SOURCE,
                    details={"excerpt": excerpt(response.body)},
                )
            return list_rows(tree, site)

        links: list[str] = []
        for number in range(1, MAX_PAGES + 1):
            rows, more = client.fetch(site.list_path, {site.page_param: number}, read_list)
            result.pages += 1
            for link, posted in rows:
                if day is not None and posted is not None and posted != day:
                    result.outside_day += 1
                elif link not in links:
                    links.append(link)
            if not more or not rows:
                break
            dated = [posted for _, posted in rows if posted is not None]
            if day is not None and dated and min(dated) < day:
                break  # the board lists the newest first: the rest is older than the day
        return links

    def _collect_detail(
        self, client: SourceHttpClient, site: Site, link: str, result: CollectionResult
    ) -> None:
        def read_detail(response: HttpResponse) -> SourcePage:
            tree = LexborHTMLParser(decode_for(SOURCE, response.body, response.content_type))
            if tree.css_first(site.detail_marker) is None:
                raise SourceError("DP_1004", f"{link} is not a {site.name} detail page", source=SOURCE)
            return build_page(
                SOURCE,
                [{"_": 0}],
                lambda _: map_detail(tree, site, link),
                id_of=lambda _: None,
                originals=[response.body],
            )

        try:
            page = client.fetch(link, {}, read_detail)
        except SourceError as exc:
            if exc.code == "EXT_5011":
                raise
            result.fail(f"{site.name}:{link}", exc.code, exc.message)
            excerpt_text = str(exc.details.get("excerpt") or "")
            result.rejected.append(
                SourceRejection(
                    SOURCE,
                    f"{site.name}:{link}",
                    exc.code,
                    exc.message,
                    {"link": link},
                    excerpt_text.encode("utf-8") if excerpt_text else None,
                )
            )
            return
        for rejection in page.rejected:
            result.rejected.append(
                SourceRejection(
                    SOURCE,
                    rejection.source_id or f"{site.name}:{link}",
                    rejection.code,
                    rejection.reason,
                    {"link": link},
                    rejection.original,
                )
            )
        result.records.extend(page.records)
