"""Public sources as a Dagster resource: base URLs, keys, paging, rate limits and retry policy.

Which base-URL and key settings exist is the source table's
(``aegis_orchestration.sources.registry``). Each one resolves, first found wins: this resource's
``overrides`` entry or field of that name, the ``aegis_shared`` setting of that name
(``AEGIS_<NAME>``, declared or not), then the table's default. So pointing collection at the
offline replay server or at the real APIs is only a matter of settings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dagster as dg
from pydantic import Field

from aegis_orchestration.sources.catalog import SourceConfig, collect_source, pointing_at
from aegis_orchestration.sources.connector import CollectionResult
from aegis_orchestration.sources.http import RetryPolicy
from aegis_orchestration.sources.registry import setting_names
from aegis_shared.config import Settings, get_settings


class SourcesResource(dg.ConfigurableResource):
    """Where and how to reach each public source. Empty fields fall back to the settings."""

    bizinfo_base_url: str | None = Field(None, description="Overrides AEGIS_BIZINFO_BASE_URL.")
    data_portal_base_url: str | None = Field(None, description="Overrides AEGIS_DATA_PORTAL_BASE_URL.")
    rss_base_url: str | None = Field(None, description="Overrides AEGIS_RSS_BASE_URL.")
    web_base_url: str | None = Field(None, description="Overrides AEGIS_WEB_BASE_URL.")
    bizinfo_api_key: str | None = Field(None, description="Overrides AEGIS_BIZINFO_API_KEY (use an EnvVar).")
    data_portal_service_key: str | None = Field(
        None, description="Decoded data-portal service key; overrides AEGIS_DATA_PORTAL_SERVICE_KEY."
    )
    http_timeout_seconds: float | None = Field(
        None, description="Overrides AEGIS_HTTP_TIMEOUT_SECONDS (30 s)."
    )
    per_page: int = Field(100, description="Items requested per page.")
    requests_per_second: float = Field(5.0, description="Per-source request rate (K-Startup allows 30 tps).")
    retry_attempts: int = Field(4, description="Attempts per request for transient failures.")
    retry_initial_wait: float = Field(1.0, description="First backoff wait in seconds (grows exponentially).")
    retry_max_wait: float = Field(30.0, description="Longest backoff wait in seconds.")
    retry_jitter: float = Field(1.0, description="Random jitter added to each wait, in seconds.")
    breaker_failure_threshold: int = Field(
        3, description="Failed fetches in a row that open a source's breaker."
    )
    breaker_reset_seconds: float = Field(300.0, description="How long an open breaker fails fast.")
    rss_feeds: list[str] | None = Field(
        None, description="Feed paths under the RSS base URL; default: the feeds in docs/sources.md §5."
    )
    web_sites: list[str] | None = Field(None, description="Boards of web_sites.yaml to scrape; default: all.")
    overrides: dict[str, str] | None = Field(
        None,
        description="Base URLs and keys by setting name (bizinfo_base_url, a registered source's own "
        "gazette_api_key, ...); beat the fields above and the AEGIS_* settings.",
    )

    @classmethod
    def offline(cls, base_url: str, key: str, **options: Any) -> SourcesResource:
        """Every registered source pointed at ``base_url`` (the replay server) with ``key``."""
        return cls(overrides=dict(pointing_at(base_url, key).settings), **options)

    def config(self) -> SourceConfig:
        """Resolve every field against the process settings."""
        settings = get_settings()
        return SourceConfig(
            settings={name: self._setting(name, settings) for name in setting_names()},
            timeout=self.http_timeout_seconds or settings.http_timeout_seconds,
            per_page=self.per_page,
            requests_per_second=self.requests_per_second,
            retry=RetryPolicy(
                max_attempts=self.retry_attempts,
                initial_wait=self.retry_initial_wait,
                max_wait=self.retry_max_wait,
                jitter=self.retry_jitter,
            ),
            breaker_failure_threshold=self.breaker_failure_threshold,
            breaker_reset_seconds=self.breaker_reset_seconds,
            rss_feeds=tuple(self.rss_feeds) if self.rss_feeds else None,
            web_sites=tuple(self.web_sites) if self.web_sites else None,
        )

    def _setting(self, name: str, settings: Settings) -> str | None:
        # Settings answer names they do not declare too (AEGIS_<NAME>), so a source added to the
        # table needs no field here nor there; unset, its base URL is the table's default.
        own = getattr(self, name) if name in type(self).model_fields else None
        return (self.overrides or {}).get(name) or own or settings.value_of(name)

    def collect(self, source: str, day: date | None = None) -> CollectionResult:
        """Collect ``source`` (``day``: only what it registered or updated that day, Asia/Seoul).

        Raises a coded ``SourceError`` if the source fails; a failing feed or page of a source
        that still answers is listed in ``CollectionResult.failures``.
        """
        return collect_source(source, self.config(), day)
