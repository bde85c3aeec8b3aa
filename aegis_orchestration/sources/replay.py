"""Replays the bundled snapshot over real HTTP on 127.0.0.1, under the real APIs' paths.

Only the base URL differs from production, so collection runs the same HTTP code path offline.
Pages are cut to the requested page size, and faults can be injected either per request with a
``_fault`` query parameter or server-side with :meth:`ReplayServer.inject` (a queue per source,
consumed one fault per request) and :meth:`ReplayServer.fail_always`:

``http500`` ``http503`` ``http404`` ``slow:SECONDS`` ``ratelimit`` ``badkey`` ``truncated``
``euckr`` ``unauthorized`` ``gateway-nocode`` — each in its source's own shape (the portal's
rate limit is code 22 inside HTTP 200 XML; bizinfo's bad key is ``reqErr`` at HTTP 200; …).

**Dates.** ``ReplayServer(anchor=day)`` (default: today in Asia/Seoul) shifts every date in every
body by one whole number of days, so the snapshot's newest registration or update is
``day - 1`` and its mix of ended, open and upcoming programmes stays as written;
``anchor=None`` serves the files unshifted. :func:`~aegis_orchestration.sources.snapshot.snapshot_window`
gives the days that then hold data.

**Filters**, as the real APIs have them: the MSS portal's ``startDate``/``endDate`` (registration
date, ``YYYYMMDD`` or ``YYYY-MM-DD``) and K-Startup's ``cond[field::OP]=value`` (``EQ``, ``NE``,
``LT``, ``LTE``, ``GT``, ``GTE``, ``LIKE``; ``matchCount`` counts the matches). bizinfo, the feeds
and the boards have none and list the newest first.

**Request log.** Every request is recorded (:attr:`ReplayServer.requests`) with its status and the
number of items its answer carried; :meth:`ReplayServer.request_count` and
:meth:`ReplayServer.items_served` sum them per source.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape  # nosec B406 # escape() writes XML; nothing is parsed

from aegis_orchestration.sources import bizinfo, kstartup, mss
from aegis_orchestration.sources.days import parse_day
from aegis_orchestration.sources.portal import GATEWAY_MESSAGES
from aegis_orchestration.sources.snapshot import anchor_shift, snapshot_files, snapshot_root, today_in_seoul
from aegis_orchestration.sources.snapshot.shift import shift_rfc822, shift_text

JSON = "application/json;charset=UTF-8"
XML = "text/xml;charset=UTF-8"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    items: int = 0  # announcements the body carries (for the request log)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    source: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    user_agent: str | None
    status: int = 0
    items: int = 0


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


def _json(doc: Any, status: int = 200) -> Reply:
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


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return max(1, int(query.get(name, [str(default)])[0]))
    except ValueError:
        return default


class SourceReplay:
    """How one source is served: its paths, key parameter, pages and error shapes.

    ``shift`` is the number of days every date in the served bodies moves (see the module).
    """

    source = ""
    paths: tuple[str, ...] = ()
    key_param: str | None = None

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0) -> None:
        self.valid_keys = valid_keys
        self.shift = shift

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

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0) -> None:
        super().__init__(valid_keys, shift)
        self.items: list[dict[str, Any]] = []
        for file in snapshot_files("bizinfo"):
            self.items.extend(bizinfo._unwrap_items(json.loads(file.read_text(encoding="utf-8"))))
        for item in self.items:
            for name in self.DATE_FIELDS:
                if isinstance(item.get(name), str):
                    item[name] = shift_text(item[name], shift)
        # No date filter: the list is newest first by last change (registration or update).
        self.items.sort(key=lambda i: max(str(i.get("creatPnttm")), str(i.get("updtPnttm"))), reverse=True)

    def bad_key(self, *, missing: bool) -> Reply:
        return _json({"reqErr": "인증키를 입력해주세요." if missing else "존재하지 않는 인증키 입니다."})

    def rate_limited(self) -> Reply:
        return Reply(429, "text/plain;charset=UTF-8", b"Too Many Requests")

    def render(self, path: str, query: dict[str, list[str]]) -> Reply:
        size = _int(query, "pageUnit", 15)
        number = _int(query, "pageIndex", 1)
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
        reply = _json(doc)
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

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0) -> None:
        super().__init__(valid_keys, shift)
        self.items: list[dict[str, Any]] = []
        for file in snapshot_files("kstartup"):
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
        return _json({"code": -4, "msg": "등록되지 않은 인증키 입니다."}, status=401)

    def render(self, path: str, query: dict[str, list[str]]) -> Reply:
        size = min(_int(query, "perPage", 10), 1000)
        number = _int(query, "page", 1)
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
            reply = _json({"currentCount": counts["currentCount"], "data": chunk, **counts})
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

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0) -> None:
        super().__init__(valid_keys, shift)
        items: list[str] = []
        for file in snapshot_files("mss"):
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
        size = _int(query, "numOfRows", 10)
        number = _int(query, "pageNo", 1)
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

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0) -> None:
        super().__init__(valid_keys, shift)
        self.feeds = {
            f"/rss/{f.name}": reencode(f.read_bytes(), lambda text: shift_rfc822(text, shift))
            for f in snapshot_files("rss")
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

    def __init__(self, valid_keys: frozenset[str] | None, shift: int = 0) -> None:
        super().__init__(valid_keys, shift)
        self.pages: dict[tuple[str, str], bytes] = {}
        web = snapshot_root() / "web"
        for site in web.iterdir():
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
            number = _int(query, "pageIndex", _int(query, "page", 1))
            name = f"list-{number}.html"
        elif page == "view.do":
            name = f"detail-{query.get('nttId', query.get('id', ['']))[0]}.html"
        else:
            return Reply(404, "text/html", b"<html>Not Found</html>")
        body = self.pages.get((site, name))
        if body is None:
            return Reply(404, "text/html", b"<html>Not Found</html>")
        return Reply(200, "text/html", body, 1 if name.startswith("detail-") else 0)


REPLAYS: list[type[SourceReplay]] = [BizinfoReplay, KstartupReplay, MssReplay, RssReplay, WebReplay]


class ReplayServer:
    """The snapshot over HTTP. ``ReplayServer(port=0).start()`` picks a free port."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        valid_keys: set[str] | None = None,
        anchor: date | Literal["today"] | None = "today",
    ) -> None:
        keys = frozenset(valid_keys) if valid_keys is not None else None
        #: The day the snapshot is re-anchored to (``None``: served as written).
        self.anchor: date | None = today_in_seoul() if anchor == "today" else anchor
        #: Days added to every date in every body.
        self.shift = anchor_shift(self.anchor)
        self._replays = [cls(keys, self.shift) for cls in REPLAYS]
        self._routes: dict[str, SourceReplay] = {p: r for r in self._replays for p in r.paths}
        self._prefix_routes = [(p, r) for p, r in self._routes.items() if p.endswith("/")]
        self._lock = threading.Lock()
        self._planned: dict[str, deque[str]] = {}
        self._always: dict[str, str] = {}
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="aegis-replay", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- fault plan ------------------------------------------------------------------------
    def inject(self, source: str, *faults: str) -> None:
        """Queue faults for the next requests to ``source``, one per request."""
        with self._lock:
            self._planned.setdefault(source, deque()).extend(faults)

    def fail_always(self, source: str, fault: str | None) -> None:
        """Answer every request to ``source`` with ``fault`` (``None`` heals it)."""
        with self._lock:
            if fault is None:
                self._always.pop(source, None)
            else:
                self._always[source] = fault

    def clear(self) -> None:
        with self._lock:
            self._planned.clear()
            self._always.clear()
            self.requests.clear()

    def requests_for(self, source: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.source == source]

    def request_count(self, source: str | None = None) -> int:
        """Requests received so far (for one source, or all) since the last :meth:`clear`."""
        with self._lock:
            return sum(1 for r in self.requests if source is None or r.source == source)

    def items_served(self, source: str | None = None) -> int:
        """Announcements carried by the answers so far (for one source, or all)."""
        with self._lock:
            return sum(r.items for r in self.requests if source is None or r.source == source)

    def _next_fault(self, source: str, query: dict[str, list[str]]) -> str | None:
        with self._lock:
            if "_fault" in query:
                return query["_fault"][0]
            planned = self._planned.get(source)
            if planned:
                return planned.popleft()
            return self._always.get(source)

    # -- serving ---------------------------------------------------------------------------
    def route(self, path: str) -> SourceReplay | None:
        replay = self._routes.get(path)
        if replay is None:
            replay = next((r for prefix, r in self._prefix_routes if path.startswith(prefix)), None)
        return replay

    def respond(self, path: str, raw_query: str, user_agent: str | None) -> Reply:
        query = parse_qs(raw_query, keep_blank_values=True)
        replay = self.route(path)
        if replay is None:
            reply = Reply(404, "text/html;charset=UTF-8", b"<html><body>404 Not Found</body></html>")
        else:
            reply = self._apply_fault(replay, self._next_fault(replay.source, query), path, query)
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    replay.source if replay else "",
                    path,
                    raw_query,
                    query,
                    user_agent,
                    reply.status,
                    reply.items if reply.status == 200 else 0,
                )
            )
        return reply

    def _apply_fault(
        self, replay: SourceReplay, fault: str | None, path: str, query: dict[str, list[str]]
    ) -> Reply:
        if fault and fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
            fault = None
        if fault == "http500":
            return Reply(500, "text/html;charset=UTF-8", b"<html>Internal Server Error</html>")
        if fault == "http503":
            return Reply(503, "text/html;charset=UTF-8", b"<html>Service Unavailable</html>")
        if fault == "http404":
            return Reply(404, "text/html;charset=UTF-8", b"<html>Not Found</html>")
        if fault == "ratelimit":
            return replay.rate_limited()
        if fault == "badkey":
            return replay.bad_key(missing=False)
        if fault == "unauthorized":
            return Reply(401, "text/plain", b"Unauthorized")
        if fault == "gateway-nocode":
            return portal_error_xml("30", with_code=False)
        problem = replay.key_problem(query)
        if problem is not None:
            return problem
        reply = replay.render(path, query)
        if fault == "truncated":
            return Reply(reply.status, reply.content_type, reply.body[: max(1, len(reply.body) // 2)])
        if fault == "euckr":
            text = reply.body.decode("utf-8", errors="replace").replace(
                'encoding="UTF-8"', 'encoding="EUC-KR"'
            )
            content_type = reply.content_type.split(";")[0]  # declared nowhere but in XML, if at all
            return Reply(reply.status, content_type, text.encode("cp949"), reply.items)
        return reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                reply = server.respond(parts.path, parts.query, self.headers.get("User-Agent"))
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test and CLI output quiet

        return Handler
