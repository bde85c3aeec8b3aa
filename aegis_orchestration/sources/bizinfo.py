"""기업마당 (bizinfo) 지원사업정보 API: JSON in its several envelopes, and the RSS form.

Errors come back as HTTP 200 with ``{"reqErr": …}``; a bad key must never look like an empty
page. There is no region field: regions come from the ``[서울ㆍ경기]`` title prefix and the
short 시도 names in ``hashtags``. The id is ``pblancId``, never parsed from the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from aegis_orchestration.sources.connector import PagedConnector
from aegis_orchestration.sources.days import parse_day
from aegis_orchestration.sources.errors import SourceError, excerpt
from aegis_orchestration.sources.fields import (
    absolute_url,
    attachments,
    required_id,
    required_text,
    split_list,
    text_or_none,
    to_int,
)
from aegis_orchestration.sources.page import SourcePage, build_page, json_bytes
from aegis_orchestration.sources.portal import check_result_header, load_json, raise_for_gateway_error
from aegis_orchestration.sources.xmldoc import child_text, parse_xml
from aegis_shared.models import Announcement
from aegis_shared.text import parse_period, region_codes, split_region_prefix

SOURCE = "bizinfo"
PUBLIC_BASE = "https://www.bizinfo.go.kr"
API_PATH = "/uss/rss/bizinfoApi.do"

# 수행기관 values that name a kind of body, not a body.
_PLACEHOLDER_EXECUTORS = frozenset(
    {"기초자치단체", "광역자치단체", "공공기관", "민간", "민간기관", "해당없음", "-"}
)
_SELF_EXECUTED = frozenset({"직접수행", "직접 수행"})


def _key_error(message: str) -> SourceError:
    # Every key complaint ("인증키를 입력해주세요", "존재하지 않는 인증키") is a key problem.
    code = "DP_1005" if "인증" in message or "key" in message.lower() else "DP_1008"
    return SourceError(
        code, f"bizinfo reqErr: {message}", source=SOURCE, details={"upstream_message": message}
    )


def unwrap_items(doc: Any) -> list[Any]:
    """Items from every envelope seen live (docs/sources.md §1)."""
    if not isinstance(doc, Mapping):
        raise SourceError("DP_1004", "bizinfo body is not a JSON object", source=SOURCE)
    if "reqErr" in doc:
        raise _key_error(str(doc["reqErr"]))
    if "jsonArray" not in doc:
        raise SourceError(
            "DP_1004", "bizinfo body has no jsonArray", source=SOURCE, details={"keys": sorted(doc)}
        )
    container = doc["jsonArray"]
    if container in (None, "", []):
        return []

    def from_group(group: Any) -> list[Any]:
        if isinstance(group, Mapping) and "item" in group:
            inner = group["item"]
            if inner in (None, ""):
                return []
            return list(inner) if isinstance(inner, list) else [inner]
        return [group]

    if isinstance(container, Mapping):
        if "reqErr" in container:
            raise _key_error(str(container["reqErr"]))
        return from_group(container)
    if isinstance(container, list):
        items: list[Any] = []
        for element in container:
            items.extend(from_group(element))
        return items
    raise SourceError("DP_1004", "bizinfo jsonArray is neither a list nor an object", source=SOURCE)


def _executor(value: Any, organization: str | None) -> str | None:
    text = text_or_none(value)
    if text in _SELF_EXECUTED:
        return organization
    if text in _PLACEHOLDER_EXECUTORS:
        return None
    return text


def map_item(item: Mapping[str, Any]) -> Announcement:
    """One JSON item → an announcement (raises on missing keys or impossible dates)."""
    source_id = required_id(item.get("pblancId"), "pblancId")
    title_codes, title = split_region_prefix(required_text(item.get("pblancNm"), "pblancNm"))
    if not title:
        title = required_text(item.get("pblancNm"), "pblancNm")
    organization = text_or_none(item.get("jrsdInsttNm"))
    period = parse_period(text_or_none(item.get("reqstBeginEndDe")))
    tags = split_list(item.get("hashtags"))
    regions = sorted(set(title_codes) | set(region_codes(",".join(tags))))
    files = attachments(item.get("fileNm"), item.get("flpthNm"), base=PUBLIC_BASE)
    files += [
        a
        for a in attachments(item.get("printFileNm"), item.get("printFlpthNm"), base=PUBLIC_BASE)
        if a not in files
    ]
    return Announcement(
        source=SOURCE,
        source_id=source_id,
        title=title,
        organization=organization,
        executing_organization=_executor(item.get("excInsttNm"), organization),
        category=text_or_none(item.get("pldirSportRealmLclasCodeNm")),
        summary=text_or_none(item.get("bsnsSumryCn")),
        url=absolute_url(item.get("pblancUrl"), PUBLIC_BASE),
        period_start=period.start,
        period_end=period.end,
        period_open_ended=period.open_ended,
        period_note=period.note,
        region_codes=regions,
        target_groups=split_list(item.get("trgetNm")),
        attachments=files,
        registered_on=parse_day(item.get("creatPnttm")),
        updated_on=parse_day(item.get("updtPnttm")),
        raw=dict(item),
    )


def parse_json(text: str) -> SourcePage:
    """Parse a JSON body (bizinfo's own API or its data-portal mirror)."""
    raise_for_gateway_error(SOURCE, text)
    doc = load_json(SOURCE, text)
    if isinstance(doc, Mapping) and "response" in doc:
        return _parse_portal_mirror(doc, text)
    items = unwrap_items(doc)
    total = next(
        (to_int(i.get("totCnt")) for i in items if isinstance(i, Mapping) and i.get("totCnt") is not None),
        None,
    )
    return build_page(
        SOURCE,
        items,
        map_item,
        id_of=lambda i: _id_or_none(i.get("pblancId")),
        total_count=total,
        originals=[json_bytes(i) for i in items],
    )


def _id_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _parse_portal_mirror(doc: Mapping[str, Any], text: str) -> SourcePage:
    """The data portal mirror (1421000/bizinfo) wraps the same items in response/header/body."""
    response = doc.get("response") or {}
    header = response.get("header") or {}
    if not check_result_header(SOURCE, header.get("resultCode"), header.get("resultMsg"), body=text):
        return SourcePage(source=SOURCE, total_count=0)
    body = response.get("body") or {}
    items_node = body.get("items") or []
    if isinstance(items_node, Mapping):
        items_node = items_node.get("item") or []
    items = items_node if isinstance(items_node, list) else [items_node]
    return build_page(
        SOURCE,
        items,
        map_item,
        id_of=lambda i: _id_or_none(i.get("pblancId")),
        total_count=to_int(body.get("totalCount")),
        page=to_int(body.get("pageNo")),
        originals=[json_bytes(i) for i in items],
    )


# RSS element → JSON field, so both forms share one mapper.
_RSS_FIELDS = {
    "title": "pblancNm",
    "link": "pblancUrl",
    "author": "jrsdInsttNm",
    "description": "bsnsSumryCn",
    "lcategory": "pldirSportRealmLclasCodeNm",
    "reqstDt": "reqstBeginEndDe",
    "pubDate": "creatPnttm",
    "hashTags": "hashtags",
    "hashtags": "hashtags",
}


def rss_seq_to_id(seq: str) -> str:
    """RSS ``seq`` is the numeric part of ``pblancId`` (``126191`` → ``PBLN_000000000126191``)."""
    seq = seq.strip()
    return f"PBLN_{int(seq):015d}" if seq.isdigit() else seq


def parse_rss(text: str) -> SourcePage:
    """Parse the RSS form (``rss/channel/item``), the API's default ``dataType``."""
    raise_for_gateway_error(SOURCE, text)
    root = parse_xml(text, source=SOURCE)
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise SourceError(
            "DP_1004", f"bizinfo RSS has root <{root.tag}>", source=SOURCE, details={"excerpt": excerpt(text)}
        )
    items: list[dict[str, Any]] = []
    originals: list[bytes] = []
    for element in channel.findall("item"):
        originals.append(etree.tostring(element, encoding="utf-8"))
        item: dict[str, Any] = {}
        for child in element:
            tag = str(child.tag)
            value = "".join(child.itertext())
            item[_RSS_FIELDS.get(tag, tag)] = value
        if item.get("seq"):
            item["pblancId"] = rss_seq_to_id(str(item["seq"]))
        items.append(item)
    total = to_int(child_text(channel, "totCnt"))
    return build_page(
        SOURCE,
        items,
        map_item,
        id_of=lambda i: _id_or_none(i.get("pblancId")),
        total_count=total,
        originals=originals,
    )


def parse(text: str) -> SourcePage:
    """Dispatch on the body: a leading ``<`` is RSS (or a gateway error), else JSON."""
    return parse_rss(text) if text.lstrip().startswith("<") else parse_json(text)


class BizinfoConnector(PagedConnector):
    """Pages through ``bizinfoApi.do`` with ``dataType=json``; the key is ``crtfcKey``."""

    source = SOURCE
    path = API_PATH
    default_per_page = 100

    parse_text = staticmethod(parse)

    def params(self, page: int) -> dict[str, Any]:
        return {"crtfcKey": self.key, "dataType": "json", "pageUnit": self.per_page, "pageIndex": page}
