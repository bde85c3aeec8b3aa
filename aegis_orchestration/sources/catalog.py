"""Collecting one source end to end: its connector and base URL from the source table, over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Any

from aegis_orchestration.sources.breaker import breaker_for
from aegis_orchestration.sources.config import Connector, SourceConfig
from aegis_orchestration.sources.connector import CollectionResult
from aegis_orchestration.sources.errors import SourceError
from aegis_orchestration.sources.http import SourceHttpClient
from aegis_orchestration.sources.registry import SourceSpec, setting_names, source_specs, spec_for

__all__ = ["Connector", "SourceConfig", "base_url_for", "client_for", "collect_source", "pointing_at"]


def base_url_for(spec: SourceSpec, config: SourceConfig) -> str | None:
    """The configured base URL of ``spec``'s source, else the table's default."""
    return config.value(spec.base_url_setting) or spec.default_base_url


def pointing_at(base_url: str, key: str, **options: Any) -> SourceConfig:
    """Settings that send every registered source to ``base_url`` with ``key`` (the replay server)."""
    values = dict.fromkeys((s.base_url_setting for s in source_specs()), base_url)
    values.update(dict.fromkeys((n for n in setting_names() if n not in values), key))
    return SourceConfig(settings=values, **options)


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
    spec = spec_for(source)
    base_url = base_url_for(spec, config)
    if not base_url:
        raise SourceError("DP_1001", f"no base URL configured for {source!r}", source=source)
    connector = spec.connector(config)
    with client_for(source, base_url, config) as client:
        return connector.collect(client, day)
