"""K-Startup 사업공고 (data portal B552735): JSON, and the ``<col name=…>`` XML form.

``pbanc_sn`` is the stable key (``id`` is only a row number). A negative ``code`` is an error
(``-4`` with HTTP 401 for an unknown key). With a filter applied, ``matchCount`` is the total.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from lxml import etree

from aegis_orchestration.sources.connector import PagedConnector
from aegis_orchestration.sources.errors import SourceError, excerpt
from aegis_orchestration.sources.fields import (
    absolute_url,
    required_id,
    required_text,
    split_list,
    text_or_none,
    to_int,
)
from aegis_orchestration.sources.page import SourcePage, build_page, json_bytes
from aegis_orchestration.sources.portal import load_json, raise_for_gateway_error
from aegis_orchestration.sources.xmldoc import child_text, parse_xml
from aegis_shared.models import Announcement
from aegis_shared.text import Period, parse_period, region_codes, split_region_prefix

SOURCE = "kstartup"
PUBLIC_BASE = "https://www.k-startup.go.kr"
API_PATH = "/B552735/kisedKstartupService01/getAnnouncementInformation01"
DAY_FIELD = "pbanc_rcpt_bgng_dt"


def _period(begin: Any, end: Any) -> Period:
    begin_text, end_text = text_or_none(begin), text_or_none(end)
    if begin_text and end_text:
        return parse_period(f"{begin_text} ~ {end_text}")
    if begin_text:
        # Open from the start date with no published end: open-ended, noted as such.
        return parse_period(f"{begin_text} ~")
    if end_text:
        return Period(end=parse_period(end_text).end)
    return Period()


def map_item(item: Mapping[str, Any]) -> Announcement:
    source_id = required_id(item.get("pbanc_sn"), "pbanc_sn")
    prefix_codes, title = split_region_prefix(required_text(item.get("biz_pbanc_nm"), "biz_pbanc_nm"))
    period = _period(item.get("pbanc_rcpt_bgng_dt"), item.get("pbanc_rcpt_end_dt"))
    targets = split_list(item.get("aply_trgt")) + split_list(item.get("biz_enyy"))
    if age := text_or_none(item.get("biz_trgt_age")):
        targets.append(age)
    return Announcement(
        source=SOURCE,
        source_id=source_id,
        title=title,
        organization=text_or_none(item.get("pbanc_ntrp_nm")),
        category=text_or_none(item.get("supt_biz_clsfc")),
        summary=text_or_none(item.get("pbanc_ctnt")),
        url=absolute_url(item.get("detl_pg_url"), PUBLIC_BASE),
        period_start=period.start,
        period_end=period.end,
        period_open_ended=period.open_ended,
        period_note=period.note,
        region_codes=sorted(set(prefix_codes) | set(region_codes(text_or_none(item.get("supt_regin"))))),
        target_groups=list(dict.fromkeys(targets)),
        # The source's own word: "N" means recruitment is closed, whatever the dates say.
        closed_by_source=is_closed(item.get("rcrt_prgs_yn")),
        raw=dict(item),
    )


def is_closed(flag: Any) -> bool:
    """``rcrt_prgs_yn``: ``Y`` open, ``N`` closed; anything else (null) is not a closure."""
    return isinstance(flag, str) and flag.strip().upper() == "N"


def _raise_for_code(doc: Mapping[str, Any], text: str) -> None:
    code = to_int(doc.get("code"))
    if code is None or code >= 0:
        return
    message = str(doc.get("msg") or "")
    ours = "DP_1005" if "인증" in message or code == -4 else ("DP_1001" if code == -1 else "DP_1008")
    raise SourceError(
        ours,
        f"K-Startup error {code}: {message}",
        source=SOURCE,
        details={"upstream_code": code, "upstream_message": message, "excerpt": excerpt(text)},
    )


def _total(doc: Mapping[str, Any]) -> int | None:
    match_count = to_int(doc.get("matchCount"))
    return match_count if match_count is not None else to_int(doc.get("totalCount"))


def _id_of(item: Mapping[str, Any]) -> str | None:
    value = item.get("pbanc_sn")
    return None if value in (None, "") else str(value)


def parse_json(text: str) -> SourcePage:
    doc = load_json(SOURCE, text)
    if not isinstance(doc, Mapping):
        raise SourceError("DP_1004", "K-Startup body is not a JSON object", source=SOURCE)
    _raise_for_code(doc, text)
    if "data" not in doc:
        raise SourceError(
            "DP_1004", "K-Startup body has no data", source=SOURCE, details={"keys": sorted(doc)}
        )
    data = doc.get("data") or []
    items = data if isinstance(data, list) else [data]
    return build_page(
        SOURCE,
        items,
        map_item,
        id_of=_id_of,
        total_count=_total(doc),
        page=to_int(doc.get("page")),
        originals=[json_bytes(i) for i in items],
    )


def parse_xml_form(text: str) -> SourcePage:
    """``<results><data><item><col name="…">…</col>…`` (not the spec's shape, but the real one)."""
    root = parse_xml(text, source=SOURCE)
    if root.tag != "results":
        raise SourceError(
            "DP_1004",
            f"K-Startup XML has root <{root.tag}>",
            source=SOURCE,
            details={"excerpt": excerpt(text)},
        )
    header = {tag: child_text(root, tag) for tag in ("code", "msg", "matchCount", "totalCount", "page")}
    _raise_for_code(header, text)
    items: list[dict[str, Any]] = []
    originals: list[bytes] = []
    data = root.find("data")
    for element in data.findall("item") if data is not None else []:
        originals.append(etree.tostring(element, encoding="utf-8"))
        item: dict[str, Any] = {}
        for col in element.findall("col"):
            value = "".join(col.itertext())
            item[str(col.get("name"))] = value if value != "" else None
        items.append(item)
    return build_page(
        SOURCE,
        items,
        map_item,
        id_of=_id_of,
        total_count=_total(header),
        page=to_int(header["page"]),
        originals=originals,
    )


def parse(text: str) -> SourcePage:
    raise_for_gateway_error(SOURCE, text)
    return parse_xml_form(text) if text.lstrip().startswith("<") else parse_json(text)


class KstartupConnector(PagedConnector):
    """Pages with ``page``/``perPage`` (up to ~1000); the key goes in ``serviceKey`` once."""

    source = SOURCE
    path = API_PATH
    default_per_page = 100

    parse_text = staticmethod(parse)

    def params(self, page: int) -> dict[str, Any]:
        return {"serviceKey": self.key, "page": page, "perPage": self.per_page, "returnType": "json"}

    def day_params(self, day: date) -> dict[str, Any]:
        # K-Startup publishes no registration or update date; the day receipt opens is the one
        # date its cond[…] filter can address, so it keys the partition (paged by matchCount).
        return {f"cond[{DAY_FIELD}::EQ]": f"{day:%Y%m%d}"}
