"""중소벤처기업부 사업공고 (data portal 1421000/mssBizService_v2).

The answer is usually XML even when JSON was asked for, so the body is sniffed. ``items`` can be
empty text, ``item`` one element or many, and ``fileName``/``fileUrl`` repeat per file.

Each item names a contact person's e-mail and phone (``writerEmail``, ``writerPhone``). They are
masked here, in the item and in its original bytes, before anything is built from them: the
unmasked values never leave the connector, so ``raw_announcements.payload``, rejections, the DLQ
and ``PolicyCollected`` only ever hold ``s***@korea.kr`` and ``044-204-****``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
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
    text_or_none,
    to_int,
)
from aegis_orchestration.sources.page import SourcePage, build_page, json_bytes
from aegis_orchestration.sources.portal import check_result_header, load_json, raise_for_gateway_error
from aegis_orchestration.sources.xmldoc import child_text, children_text, parse_xml
from aegis_shared.models import Announcement
from aegis_shared.text import Period, parse_period, split_region_prefix
from aegis_shared.utils.contacts import mask_email, mask_phone

SOURCE = "mss"
# The registration date, under every name the portal has used for it.
DAY_FIELDS = ("registDate", "registDe", "regDate", "writeDate")
ORGANIZATION = "중소벤처기업부"
PUBLIC_BASE = "https://www.mss.go.kr"
API_PATH = "/1421000/mssBizService_v2/getbizList_v2"

MASKED_FIELDS: dict[str, Callable[[str], str]] = {"writerEmail": mask_email, "writerPhone": mask_phone}
"""Contact fields masked inside the connector, before any record, original or event holds them."""


def mask_contacts(item: Any) -> Any:
    """The item with its contact fields masked (anything not a mapping is returned unchanged)."""
    if not isinstance(item, Mapping):
        return item
    return {
        key: MASKED_FIELDS[key](str(value)) if key in MASKED_FIELDS and value not in (None, "") else value
        for key, value in item.items()
    }


def _mask_element(element: etree._Element) -> None:
    """Mask the contact fields of one ``<item>`` in place, so its original bytes are masked too."""
    for child in element:
        masker = MASKED_FIELDS.get(str(child.tag))
        if masker is None:
            continue
        text = "".join(child.itertext())
        for grandchild in list(child):
            child.remove(grandchild)
        child.text = masker(text) if text else text


def _period(start: Any, end: Any) -> Period:
    start_text, end_text = text_or_none(start), text_or_none(end)
    if start_text and end_text:
        return parse_period(f"{start_text} ~ {end_text}")
    if start_text:
        return Period(start=parse_period(start_text).start, open_ended=True)
    if end_text:
        return Period(end=parse_period(end_text).end)
    return Period()


def map_item(item: Mapping[str, Any]) -> Announcement:
    source_id = required_id(item.get("itemId"), "itemId")
    prefix_codes, title = split_region_prefix(required_text(item.get("title"), "title"))
    period = _period(item.get("applicationStartDate"), item.get("applicationEndDate"))
    return Announcement(
        source=SOURCE,
        source_id=source_id,
        title=title,
        organization=ORGANIZATION,
        executing_organization=text_or_none(item.get("writerPosition")),
        summary=text_or_none(item.get("dataContents")),
        url=absolute_url(item.get("viewUrl"), PUBLIC_BASE),
        period_start=period.start,
        period_end=period.end,
        period_open_ended=period.open_ended,
        period_note=period.note,
        region_codes=prefix_codes,
        attachments=attachments(
            item.get("fileName"), item.get("fileUrl"), base=PUBLIC_BASE, separator="\x00"
        ),
        registered_on=registration_day(item),
        raw=dict(item),
    )


def registration_day(item: Mapping[str, Any]) -> date | None:
    """The registration date that ``startDate``/``endDate`` filter on, under any name seen."""
    for name in DAY_FIELDS:
        if (day := parse_day(item.get(name))) is not None:
            return day
    return None


def _id_of(item: Mapping[str, Any]) -> str | None:
    value = item.get("itemId")
    return None if value in (None, "") else str(value)


def _one_or_many(values: list[str]) -> str | list[str] | None:
    # Mirrors the wire: one file gives a string, several give a list.
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def parse_xml_form(text: str) -> SourcePage:
    root = parse_xml(text, source=SOURCE)
    if root.tag != "response":
        raise SourceError(
            "DP_1004", f"MSS XML has root <{root.tag}>", source=SOURCE, details={"excerpt": excerpt(text)}
        )
    header = root.find("header")
    code = child_text(header, "resultCode") if header is not None else None
    message = child_text(header, "resultMsg") if header is not None else None
    if not check_result_header(SOURCE, code, message, body=text):
        return SourcePage(source=SOURCE, total_count=0)
    body = root.find("body")
    if body is None:
        raise SourceError(
            "DP_1004", "MSS response has no body", source=SOURCE, details={"excerpt": excerpt(text)}
        )
    items: list[dict[str, Any]] = []
    originals: list[bytes] = []
    items_node = body.find("items")
    for element in items_node.findall("item") if items_node is not None else []:
        _mask_element(element)
        originals.append(etree.tostring(element, encoding="utf-8"))
        item: dict[str, Any] = {}
        for child in element:
            tag = str(child.tag)
            if tag in ("fileName", "fileUrl"):
                continue
            item[tag] = "".join(child.itertext())
        item["fileName"] = _one_or_many(children_text(element, "fileName"))
        item["fileUrl"] = _one_or_many(children_text(element, "fileUrl"))
        items.append(item)
    return build_page(
        SOURCE,
        items,
        map_item,
        id_of=_id_of,
        total_count=to_int(child_text(body, "totalCount")),
        page=to_int(child_text(body, "pageNo")),
        originals=originals,
    )


def parse_json(text: str) -> SourcePage:
    doc = load_json(SOURCE, text)
    response = doc.get("response") if isinstance(doc, Mapping) else None
    if not isinstance(response, Mapping):
        raise SourceError(
            "DP_1004", "MSS JSON has no response envelope", source=SOURCE, details={"excerpt": excerpt(text)}
        )
    header = response.get("header") or {}
    if not check_result_header(SOURCE, header.get("resultCode"), header.get("resultMsg"), body=text):
        return SourcePage(source=SOURCE, total_count=0)
    body = response.get("body") or {}
    items_node = body.get("items")
    if isinstance(items_node, Mapping):
        items_node = items_node.get("item")
    items = [] if items_node in (None, "") else (items_node if isinstance(items_node, list) else [items_node])
    items = [mask_contacts(item) for item in items]
    return build_page(
        SOURCE,
        items,
        map_item,
        id_of=_id_of,
        total_count=to_int(body.get("totalCount")),
        page=to_int(body.get("pageNo")),
        originals=[json_bytes(i) for i in items],
    )


def parse(text: str) -> SourcePage:
    raise_for_gateway_error(SOURCE, text)
    return parse_xml_form(text) if text.lstrip().startswith("<") else parse_json(text)


class MssConnector(PagedConnector):
    """Pages with ``pageNo``/``numOfRows``; asks for JSON but accepts the XML it usually gets."""

    source = SOURCE
    path = API_PATH
    default_per_page = 100

    parse_text = staticmethod(parse)

    def params(self, page: int) -> dict[str, Any]:
        return {"serviceKey": self.key, "pageNo": page, "numOfRows": self.per_page, "dataType": "json"}

    def day_params(self, day: date) -> dict[str, Any]:
        # The portal's own filter on the registration date, inclusive at both ends.
        return {"startDate": f"{day:%Y%m%d}", "endDate": f"{day:%Y%m%d}"}
