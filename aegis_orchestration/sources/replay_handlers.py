"""How each source is served by the replay server: its paths, key parameter, pages and error shapes.

One :class:`SourceReplay` subclass per source, named by that source's row of the source table
(:mod:`aegis_orchestration.sources.registry`); the server in :mod:`aegis_orchestration.sources.replay`
routes requests to them and injects faults. A handler is given its source's bundled files (the
table's snapshot pattern) and the snapshot folder, and reads nothing else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from importlib.resources.abc import Traversable
from typing import Any
from xml.sax.saxutils import escape  # nosec B406 # escape() writes XML; nothing is parsed

from aegis_orchestration.sources import bizinfo, kstartup, mss
from aegis_orchestration.sources.dateshift import shift_rfc822, shift_text
from aegis_orchestration.sources.days import parse_day
from aegis_orchestration.sources.portal import GATEWAY_MESSAGES

JSON = "application/json;charset=UTF-8"
XML = "text/xml;charset=UTF-8"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    items: int = 0  # announcements the body carries (for the request log)


_XML_ENCODING = re.compile(rb'^\s*<\?xml[^>]*encoding="([^"]+)"')
_META_CHARSET = re.compile(rb'<meta[^>]*charset="?([A-Za-z0-9_-]+)', re.IGNORECASE)


def _declared(body: bytes) -> str:
    """The charset a bundled XML or HTML file declares (UTF-8 when it declares none)."""
    match = _XML_ENCODING.match(body) or _META_CHARSET.search(body[:1024])
    name = match[1].decode("ascii").lower() if match else "utf-8"
    return "cp949" if name in {"euc-kr", "euckr", "cp949"} else name


def reencode(body: bytes, change: Any) -> bytes:
    """Apply ``change`` to the text of ``body`` and write it back in its own charset."""
    charset = _declared(body)
    return change(body.decode(charset)).encode(charset)


def json_reply(doc: Any, status: int = 200) -> Reply:
    """A JSON answer (UTF-8, Korean kept as written, as the real APIs send it)."""
    return Reply(status, JSON, json.dumps(doc, ensure_ascii=False).encode("utf-8"))


def portal_error_xml(code: str | None, *, with_code: bool = True) -> Reply:
    """The data portal gateway's XML error, with or without its code element."""
    message = GATEWAY_MESSAGES.get(code or "99", "UNKNOWN_ERROR")
    reason = f"<returnReasonCode>{code}</returnReasonCode>" if with_code and code else ""
    body = (
        "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg>"
        f"<returnAuthMsg>{message}</returnAuthMsg>{reason}</cmmMsgHeader></OpenAPI_ServiceResponse>"
    )
    return Reply(200, XML, body.encode("utf-8"))


def int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    """A positive integer query parameter (paging), ``default`` when absent or unreadable."""
    try:
        return max(1, int(query.get(name, [str(default)])[0]))
    except ValueError:
        return default


class SourceReplay:
    """How one source is served: its paths, key parameter, pages and error shapes.

    ``shift`` is the number of days every date in the served bodies moves (see
    :mod:`aegis_orchestration.sources.replay`); ``files`` are the source's bundled files (its
    snapshot pattern in the source table) and ``root`` the snapshot folder holding them.
    """

    source = ""
    paths: tuple[str, ...] = ()
    key_param: str | None = None

    def __init__(
        self,
        valid_keys: frozenset[str] | None,
        shift: int = 0,
        *,
        files: list[Traversable] | None = None,
        root: Traversable | None = None,
    ) -> None:
        self.valid_keys = valid_keys
        self.shift = shift
        self.files = files or []
        self.root = root

    def key_problem(self, query: dict[str, list[str]]) -> Reply | None:
        if self.key_param is None:
            return None
        key = query.get(self.key_param, [""])[0]
        if not key:
            return self.bad_key(missing=True)
        if self.valid_keys is not None and key not in self.valid_keys:
            return self.bad_key(missing=False)
        return None

    def bad_key(self, *, missing: bool) -> Reply:
        return portal_error_xml("30")

    def rate_limited(self) -> Reply:
        return portal_error_xml("22")

    def render(self, path: str, query: dict[str, list[str]]) -> Reply:
        raise NotImplementedError


class BizinfoReplay(SourceReplay):
    source = "bizinfo"
    paths = (bizinfo.API_PATH,)
    key_param = "crtfcKey"

    DATE_FIELDS = ("creatPnttm", "updtPnttm", "reqstBeginEndDe")

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0, **snapshot: Any) -> None:
        super().__init__(valid_keys, shift, **snapshot)
        self.items: list[dict[str, Any]] = []
        for file in self.files:
            self.items.extend(bizinfo.unwrap_items(json.loads(file.read_text(encoding="utf-8"))))
        for item in self.items:
            for name in self.DATE_FIELDS:
                if isinstance(item.get(name), str):
                    item[name] = shift_text(item[name], shift)
        # No date filter: the list is newest first by last change (registration or update).
        self.items.sort(key=lambda i: max(str(i.get("creatPnttm")), str(i.get("updtPnttm"))), reverse=True)

    def bad_key(self, *, missing: bool) -> Reply:
        return json_reply({"reqErr": "인증키를 입력해주세요." if missing else "존재하지 않는 인증키 입니다."})

    def rate_limited(self) -> Reply:
        return Reply(429, "text/plain;charset=UTF-8", b"Too Many Requests")

    def render(self, path: str, query: dict[str, list[str]]) -> Reply:
        size = int_param(query, "pageUnit", 15)
        number = int_param(query, "pageIndex", 1)
        chunk = self.items[(number - 1) * size : number * size]
        if query.get("dataType", ["rss"])[0] != "json":
            return Reply(200, XML, self._rss(chunk).encode("utf-8"), len(chunk))
        # Rotate through the envelopes seen live; a one-item group is an object, not a list.
        group_items: Any = chunk[0] if len(chunk) == 1 else chunk
        shape = number % 3
        if not chunk:
            doc: dict[str, Any] = {"jsonArray": []}
        elif shape == 1:
            doc = {"jsonArray": chunk}
        elif shape == 2:
            doc = {"jsonArray": {"title": "기업마당 지원사업정보", "item": group_items}}
        else:
            doc = {"jsonArray": [{"title": "기업마당 지원사업정보", "item": group_items}]}
        reply = json_reply(doc)
        return Reply(reply.status, reply.content_type, reply.body, len(chunk))

    def _rss(self, chunk: list[dict[str, Any]]) -> str:
        rows = []
        for item in chunk:
            seq = str(item["pblancId"]).removeprefix("PBLN_").lstrip("0")
            rows.append(
                "<item>"
                f"<title>{escape(item['pblancNm'])}</title>"
                f"<link>{escape(item['pblancUrl'])}</link>"
                f"<seq>{seq}</seq>"
                f"<author>{escape(item['jrsdInsttNm'] or '')}</author>"
                f"<description><![CDATA[{item['bsnsSumryCn']}]]></description>"
                f"<lcategory>{escape(item['pldirSportRealmLclasCodeNm'] or '')}</lcategory>"
                f"<pubDate>{escape(item['creatPnttm'])}</pubDate>"
                f"<reqstDt>{escape(item['reqstBeginEndDe'])}</reqstDt>"
                f"<hashTags>{escape(item['hashtags'])}</hashTags>"
                "</item>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            "<title>기업마당 지원사업정보</title><link>https://www.bizinfo.go.kr</link>"
            f"<totCnt>{len(self.items)}</totCnt>{''.join(rows)}</channel></rss>"
        )


class KstartupReplay(SourceReplay):
    source = "kstartup"
    paths = (kstartup.API_PATH,)
    key_param = "serviceKey"

    DATE_FIELDS = ("pbanc_rcpt_bgng_dt", "pbanc_rcpt_end_dt")
    _COND = re.compile(r"^cond\[(\w+)::(EQ|NE|LT|LTE|GT|GTE|LIKE)\]$")

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0, **snapshot: Any) -> None:
        super().__init__(valid_keys, shift, **snapshot)
        self.items: list[dict[str, Any]] = []
        for file in self.files:
            self.items.extend(json.loads(file.read_text(encoding="utf-8"))["data"])
        for item in self.items:
            for name in self.DATE_FIELDS:
                if isinstance(item.get(name), str):
                    item[name] = shift_text(item[name], shift)

    def matches(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        """The items every ``cond[field::OP]=value`` in ``query`` accepts (strings compared)."""
        conditions = [
            (m[1], m[2], values[0]) for name, values in query.items() if (m := self._COND.match(name))
        ]

        def accepts(item: dict[str, Any]) -> bool:
            for field, op, wanted in conditions:
                value = item.get(field)
                if value is None:
                    return op == "NE"
                text = str(value)
                ok = {
                    "EQ": text == wanted,
                    "NE": text != wanted,
                    "LT": text < wanted,
                    "LTE": text <= wanted,
                    "GT": text > wanted,
                    "GTE": text >= wanted,
                    "LIKE": wanted in text,
                }[op]
                if not ok:
                    return False
            return True

        return [item for item in self.items if accepts(item)]

    def bad_key(self, *, missing: bool) -> Reply:
        return json_reply({"code": -4, "msg": "등록되지 않은 인증키 입니다."}, status=401)

    def render(self, path: str, query: dict[str, list[str]]) -> Reply:
        size = min(int_param(query, "perPage", 10), 1000)
        number = int_param(query, "page", 1)
        matched = self.matches(query)
        chunk = matched[(number - 1) * size : number * size]
        counts = {
            "currentCount": len(chunk),
            "matchCount": len(matched),
            "page": number,
            "perPage": size,
            "totalCount": len(self.items),
        }
        if query.get("returnType", ["xml"])[0] == "json":
            reply = json_reply({"currentCount": counts["currentCount"], "data": chunk, **counts})
            return Reply(reply.status, reply.content_type, reply.body, len(chunk))
        rows = "".join(
            "<item>"
            + "".join(f'<col name="{k}">{"" if v is None else escape(str(v))}</col>' for k, v in item.items())
            + "</item>"
            for item in chunk
        )
        head = "".join(f"<{k}>{v}</{k}>" for k, v in counts.items())
        return Reply(
            200,
            XML,
            f'<?xml version="1.0" encoding="UTF-8"?><results>{head}<data>{rows}</data></results>'.encode(),
            len(chunk),
        )


class MssReplay(SourceReplay):
    source = "mss"
    paths = (mss.API_PATH,)
    key_param = "serviceKey"

    _DATE_ELEMENT = re.compile(r"<(applicationStartDate|applicationEndDate|registDate)>([^<]*)</\1>")
    _REGISTERED = re.compile(r"<registDate>([^<]*)</registDate>")

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0, **snapshot: Any) -> None:
        super().__init__(valid_keys, shift, **snapshot)
        items: list[str] = []
        for file in self.files:
            text = file.read_text(encoding="utf-8")
            items.extend(re.findall(r"<item>.*?</item>", text, flags=re.DOTALL))
        shifted = [
            self._DATE_ELEMENT.sub(lambda m: f"<{m[1]}>{shift_text(m[2], shift)}</{m[1]}>", item)
            for item in items
        ]
        # Newest registration first, as the portal lists them.
        self.items = sorted(shifted, key=lambda item: self.registered(item) or date.min, reverse=True)

    def registered(self, item: str) -> date | None:
        match = self._REGISTERED.search(item)
        return parse_day(match[1]) if match else None

    def render(self, path: str, query: dict[str, list[str]]) -> Reply:
        size = int_param(query, "numOfRows", 10)
        number = int_param(query, "pageNo", 1)
        items = self.items
        # startDate/endDate filter on the registration date (inclusive), as the real service does.
        start = parse_day(query.get("startDate", [""])[0])
        end = parse_day(query.get("endDate", [""])[0])
        if start or end:
            items = [
                item
                for item in items
                if (day := self.registered(item)) is not None
                and (start is None or day >= start)
                and (end is None or day <= end)
            ]
        chunk = items[(number - 1) * size : number * size]
        # The real service answers XML even when JSON was asked for; an empty page has empty items.
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><response><header><resultCode>00</resultCode>'
            f"<resultMsg>NORMAL_CODE</resultMsg></header><body><numOfRows>{size}</numOfRows><pageNo>{number}</pageNo>"
            f"<totalCount>{len(items)}</totalCount><items>{''.join(chunk)}</items></body></response>"
        )
        return Reply(200, XML, body.encode("utf-8"), len(chunk))


class RssReplay(SourceReplay):
    source = "rss"
    paths = ("/rss/",)

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0, **snapshot: Any) -> None:
        super().__init__(valid_keys, shift, **snapshot)
        self.feeds = {
            f"/rss/{f.name}": reencode(f.read_bytes(), lambda text: shift_rfc822(text, shift))
            for f in self.files
        }

    def rate_limited(self) -> Reply:
        return Reply(429, "text/plain", b"Too Many Requests")

    def bad_key(self, *, missing: bool) -> Reply:
        return Reply(403, "text/html", b"<html>Forbidden</html>")

    def render(self, path: str, query: dict[str, list[str]]) -> Reply:
        body = self.feeds.get(path)
        if body is None:  # a renamed feed (dept_motie → dept_motir)
            return Reply(404, "text/html;charset=UTF-8", b"<html><body>404</body></html>")
        # Served without a charset parameter: the EUC-KR feed declares itself only in XML.
        return Reply(200, "application/rss+xml", body, body.count(b"<item>"))


class WebReplay(SourceReplay):
    source = "web"
    paths = ("/web/",)

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0, **snapshot: Any) -> None:
        super().__init__(valid_keys, shift, **snapshot)
        self.pages: dict[tuple[str, str], bytes] = {}
        web = self.root / "web" if self.root is not None else None
        for site in web.iterdir() if web is not None else ():
            if not site.is_dir():
                continue
            for file in site.iterdir():
                if file.name.endswith(".html"):
                    body = file.read_bytes()
                    self.pages[(site.name, file.name)] = reencode(body, lambda t: shift_text(t, shift))

    def rate_limited(self) -> Reply:
        return Reply(429, "text/plain", b"Too Many Requests")

    def bad_key(self, *, missing: bool) -> Reply:
        return Reply(403, "text/html", b"<html>Access denied</html>")

    def render(self, path: str, query: dict[str, list[str]]) -> Reply:
        parts = path.strip("/").split("/")
        if len(parts) != 3:
            return Reply(404, "text/html", b"<html>Not Found</html>")
        _, site, page = parts
        if page == "list.do":
            number = int_param(query, "pageIndex", int_param(query, "page", 1))
            name = f"list-{number}.html"
        elif page == "view.do":
            name = f"detail-{query.get('nttId', query.get('id', ['']))[0]}.html"
        else:
            return Reply(404, "text/html", b"<html>Not Found</html>")
        body = self.pages.get((site, name))
        if body is None:
            return Reply(404, "text/html", b"<html>Not Found</html>")
        return Reply(200, "text/html", body, 1 if name.startswith("detail-") else 0)
