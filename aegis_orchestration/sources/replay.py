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
``anchor=None`` serves the files unshifted.

**Sources.** Each row of the source table (:mod:`aegis_orchestration.sources.registry`) names its
handler (:mod:`aegis_orchestration.sources.replay_handlers`); the server serves every row
registered when it is created. :func:`~aegis_orchestration.sources.snapshot.snapshot_window`
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

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from aegis_orchestration.sources.registry import source_specs
from aegis_orchestration.sources.replay_handlers import Reply, SourceReplay, portal_error_xml, reencode
from aegis_orchestration.sources.snapshot import anchor_shift, snapshot_files, snapshot_root, today_in_seoul

__all__ = ["RecordedRequest", "ReplayServer", "Reply", "SourceReplay", "portal_error_xml", "reencode"]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    source: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    user_agent: str | None
    status: int = 0
    items: int = 0


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
        # One handler per row of the source table, given that source's bundled files.
        root = snapshot_root()
        self._replays = [
            spec.replay(keys, self.shift, files=snapshot_files(spec.name), root=root)
            for spec in source_specs()
        ]
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
