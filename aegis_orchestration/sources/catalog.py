"""Which connector serves each source, and collecting one source end to end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from aegis_orchestration.sources.bizinfo import BizinfoConnector
from aegis_orchestration.sources.breaker import breaker_for
from aegis_orchestration.sources.connector import CollectionResult
from aegis_orchestration.sources.errors import SourceError
from aegis_orchestration.sources.http import RetryPolicy, SourceHttpClient
from aegis_orchestration.sources.kstartup import KstartupConnector
from aegis_orchestration.sources.mss import MssConnector
from aegis_orchestration.sources.rss import DEFAULT_FEEDS, RssConnector
from aegis_orchestration.sources.web import WebConnector


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """Resolved collection settings (see :class:`aegis_orchestration.resources.SourcesResource`)."""

    bizinfo_base_url: str = "https://www.bizinfo.go.kr"
    data_portal_base_url: str = "https://apis.data.go.kr"
    rss_base_url: str = "https://www.korea.kr"
    web_base_url: str | None = None
    bizinfo_api_key: str = ""
    data_portal_service_key: str = ""
    timeout: float = 30.0
    per_page: int = 100
    requests_per_second: float | None = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_failure_threshold: int = 3
    breaker_reset_seconds: float = 300.0
    rss_feeds: tuple[str, ...] = DEFAULT_FEEDS
    web_sites: tuple[str, ...] | None = None


class Connector(Protocol):
    source: str

    def collect(self, client: SourceHttpClient, day: date | None = None) -> CollectionResult: ...


def _connector_and_base(source: str, config: SourceConfig) -> tuple[Connector, str | None]:
    if source == "bizinfo":
        return BizinfoConnector(key=config.bizinfo_api_key, per_page=config.per_page), config.bizinfo_base_url
    if source == "kstartup":
        key = config.data_portal_service_key
        return KstartupConnector(key=key, per_page=config.per_page), config.data_portal_base_url
    if source == "mss":
        return MssConnector(
            key=config.data_portal_service_key, per_page=config.per_page
        ), config.data_portal_base_url
    if source == "rss":
        return RssConnector(config.rss_feeds), config.rss_base_url
    if source == "web":
        return WebConnector(config.web_sites), config.web_base_url
    raise SourceError("DP_1006", f"no connector for source {source!r}", source=source)


def client_for(source: str, base_url: str, config: SourceConfig) -> SourceHttpClient:
    """An HTTP client for ``source`` sharing the process-wide breaker of that source."""
    return SourceHttpClient(
        source,
        base_url,
        timeout=config.timeout,
        retry=config.retry,
        rate_limit_per_second=config.requests_per_second,
        breaker=breaker_for(
            source,
            failure_threshold=config.breaker_failure_threshold,
            reset_timeout=config.breaker_reset_seconds,
        ),
    )


def collect_source(source: str, config: SourceConfig, day: date | None = None) -> CollectionResult:
    """Collect ``source``: the whole catalogue, or with ``day`` what it registered or updated that day.

    A failing source raises its coded :class:`SourceError`; a failing feed or page of a source
    that still answers is a :class:`~aegis_orchestration.sources.connector.FeedFailure` in the result.
    """
    connector, base_url = _connector_and_base(source, config)
    if not base_url:
        raise SourceError("DP_1001", f"no base URL configured for {source!r}", source=source)
    with client_for(source, base_url, config) as client:
        return connector.collect(client, day)
