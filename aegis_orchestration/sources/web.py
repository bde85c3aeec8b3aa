"""Local-government notice boards: list pages lead to detail pages, read with selectolax.

Each site's selectors live in ``web_sites.yaml``, so a new site is configuration, not code.
Pages may be EUC-KR and declare it only in ``<meta charset>``. A detail page that cannot be
fetched or read is a rejection with its code, never a silent drop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from selectolax.lexbor import LexborHTMLParser, LexborNode

from aegis_orchestration.sources.connector import MAX_PAGES, CollectionResult
from aegis_orchestration.sources.errors import SourceError, excerpt
from aegis_orchestration.sources.fields import absolute_url, required_id, required_text, text_or_none
from aegis_orchestration.sources.http import HttpResponse, SourceHttpClient
from aegis_orchestration.sources.page import Rejection, SourcePage, build_page
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
        raw={
            "site": site.name,
            "id": source_id,
            "title": _select(tree, fields["title"]),
            "period": _select(tree, fields["period"]),
        },
    )


def list_links(tree: LexborHTMLParser, site: Site) -> tuple[list[str], bool]:
    """Detail links on a list page, and whether a next page exists."""
    links = [
        href
        for row in tree.css(site.row)
        if (node := row.css_first(site.row_link)) is not None and (href := node.attributes.get("href"))
    ]
    return links, tree.css_first(site.next) is not None


def parse(text: str) -> SourcePage:
    """A detail page gives one record; a list page gives none (its links are read by the connector)."""
    tree = LexborHTMLParser(text)
    site, kind = _site_of(tree)
    if kind == "list":
        return SourcePage(source=SOURCE, total_count=None)
    return build_page(SOURCE, [{"_": 0}], lambda _: map_detail(tree, site), id_of=lambda _: None)


class WebConnector:
    """Walks each configured site's list pages, then fetches and parses every detail page."""

    source = SOURCE

    def __init__(self, sites: tuple[str, ...] | None = None) -> None:
        self.sites = sites

    def collect(self, client: SourceHttpClient) -> CollectionResult:
        from aegis_orchestration.sources.parsing import decode_for

        result = CollectionResult(source=SOURCE)
        sites = load_sites()
        for name in self.sites or tuple(sites):
            site = sites[name]
            links: list[str] = []
            for number in range(1, MAX_PAGES + 1):

                def read_list(response: HttpResponse, site: Site = site) -> tuple[list[str], bool]:
                    tree = LexborHTMLParser(decode_for(SOURCE, response.body, response.content_type))
                    if tree.css_first(site.list_marker) is None:
                        raise SourceError(
                            "DP_1004",
                            f"{site.name} list page has no board",
                            source=SOURCE,
                            details={"excerpt": excerpt(response.body)},
                        )
                    return list_links(tree, site)

                page_links, more = client.fetch(site.list_path, {site.page_param: number}, read_list)
                links.extend(link for link in page_links if link not in links)
                result.pages += 1
                if not more or not page_links:
                    break
            for link in links:
                self._collect_detail(client, site, link, result)
        result.requests = client.requests_sent
        return result

    def _collect_detail(
        self, client: SourceHttpClient, site: Site, link: str, result: CollectionResult
    ) -> None:
        from aegis_orchestration.sources.parsing import decode_for

        def read_detail(response: HttpResponse) -> SourcePage:
            tree = LexborHTMLParser(decode_for(SOURCE, response.body, response.content_type))
            if tree.css_first(site.detail_marker) is None:
                raise SourceError("DP_1004", f"{link} is not a {site.name} detail page", source=SOURCE)
            return build_page(
                SOURCE, [{"_": 0}], lambda _: map_detail(tree, site, link), id_of=lambda _: None
            )

        try:
            page = client.fetch(link, {}, read_detail)
        except SourceError as exc:
            if exc.code == "EXT_5011":
                raise
            result.rejected.append(
                Rejection(SOURCE, f"{site.name}:{link}", exc.code, exc.message, {"link": link})
            )
            return
        for rejection in page.rejected:
            result.rejected.append(
                Rejection(
                    SOURCE,
                    rejection.source_id or f"{site.name}:{link}",
                    rejection.code,
                    rejection.reason,
                    {"link": link},
                )
            )
        result.records.extend(page.records)
