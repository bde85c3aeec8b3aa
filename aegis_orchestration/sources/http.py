"""Resilient HTTP shared by every connector: httpx, tenacity retries and a circuit breaker.

* 30 s timeouts by default (10 s has been seen to fail where 30 s worked).
* Retries with exponential backoff and jitter on 5xx, timeouts, connection errors and rate
  limits (HTTP 429 or the portal's code 22 at HTTP 200), because the parse step runs inside
  the retried call.
* One breaker per source: a source that keeps failing fails fast without hammering it.
* Service keys go through ``params`` exactly once, decoded; httpx encodes them once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from aegis_orchestration.sources.breaker import CircuitBreaker, breaker_for
from aegis_orchestration.sources.errors import SourceError, excerpt
from aegis_shared import __version__

USER_AGENT = f"AegisCollector/{__version__} (+aegis-data-platform; public support-programme announcements)"
T = TypeVar("T")
NOT_BREAKER_FAILURES = frozenset({"DP_1006", "EXT_5011"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. Tests shrink the waits; production keeps the defaults."""

    max_attempts: int = 4
    initial_wait: float = 1.0
    max_wait: float = 30.0
    jitter: float = 1.0


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes
    content_type: str | None
    url: str


class RateLimiter:
    """Spaces requests at least ``1 / rate`` seconds apart (per client, thread-safe)."""

    def __init__(self, per_second: float | None) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            time.sleep(delay)


def _status_error(source: str, response: HttpResponse) -> SourceError:
    status = response.status
    code = {401: "DP_1005", 403: "DP_1005", 404: "DP_1006", 429: "DP_1002"}.get(status)
    if code is None:
        code = "DP_1001" if status >= 500 else "DP_1008"
    return SourceError(
        code,
        f"HTTP {status} from {source}",
        source=source,
        details={"http_status": status, "excerpt": excerpt(response.body)},
    )


class SourceHttpClient:
    """One source's HTTP client: fetch a path and parse it, retried and guarded by a breaker."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rate_limit_per_second: float | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.source = source
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or breaker_for(source)
        self._limiter = RateLimiter(rate_limit_per_second)
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json, application/xml;q=0.9, */*;q=0.5",
            },
            follow_redirects=True,
            transport=transport,
        )
        self.requests_sent = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SourceHttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get_once(self, path: str, params: Mapping[str, Any]) -> HttpResponse:
        self._limiter.wait()
        self.requests_sent += 1
        try:
            # An empty params mapping would wipe a query already in ``path`` (detail links).
            response = self._client.get(path, params=dict(params) if params else None)
        except httpx.TimeoutException as exc:
            raise SourceError("EXT_5004", f"timeout calling {self.source}", source=self.source) from exc
        except httpx.TransportError as exc:
            raise SourceError(
                "DP_1001", f"cannot reach {self.source}: {type(exc).__name__}", source=self.source
            ) from exc
        return HttpResponse(
            status=response.status_code,
            body=response.content,
            content_type=response.headers.get("content-type"),
            url=str(response.url.copy_with(query=None)),
        )

    def fetch(self, path: str, params: Mapping[str, Any], handle: Callable[[HttpResponse], T]) -> T:
        """GET ``path`` and run ``handle`` on the response, retrying transient failures.

        ``handle`` parses the body and raises :class:`SourceError` for error bodies; a 4xx that
        ``handle`` did not explain becomes a status-coded error. The breaker sees one outcome per
        fetch, after retries.
        """
        self.breaker.before_call()

        def attempt() -> T:
            response = self._get_once(path, params)
            if response.status == 429 or response.status >= 500:
                raise _status_error(self.source, response)
            if response.status >= 400:
                # Let the source's own error shape speak first (K-Startup's -4 at HTTP 401);
                # a body nobody can read falls back to the status.
                try:
                    handle(response)
                except SourceError as exc:
                    if exc.code != "DP_1004":
                        raise
                raise _status_error(self.source, response)
            return handle(response)

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=wait_exponential_jitter(
                multiplier=self.retry.initial_wait, max=self.retry.max_wait, jitter=self.retry.jitter
            ),
            retry=retry_if_exception(lambda exc: isinstance(exc, SourceError) and exc.retryable),
            reraise=True,
        )
        try:
            result = retrying(attempt)
        except SourceError as exc:
            # A missing page is the server working correctly; everything else counts against it.
            if exc.code not in NOT_BREAKER_FAILURES:
                self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return result
