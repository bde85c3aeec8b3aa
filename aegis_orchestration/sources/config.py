"""Resolved collection settings, and what a connector is: the types the source table names.

Kept apart from :mod:`aegis_orchestration.sources.catalog` so that the table
(:mod:`aegis_orchestration.sources.registry`) can name them without importing collection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from aegis_orchestration.sources.connector import CollectionResult
from aegis_orchestration.sources.http import RetryPolicy, SourceHttpClient


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """Resolved collection settings (see :class:`aegis_orchestration.resources.SourcesResource`).

    ``settings`` holds base URLs and keys by setting name (``bizinfo_base_url``,
    ``data_portal_service_key``, …: the names the source table gives each source). A base URL
    missing here falls back to the source's default in the table; a missing key is empty.
    """

    settings: Mapping[str, str | None] = field(default_factory=dict)
    timeout: float = 30.0
    per_page: int = 100
    requests_per_second: float | None = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_failure_threshold: int = 3
    breaker_reset_seconds: float = 300.0
    rss_feeds: tuple[str, ...] | None = None
    web_sites: tuple[str, ...] | None = None

    def value(self, name: str | None) -> str:
        """The configured value of setting ``name`` ("" when unset or ``name`` is ``None``)."""
        return (self.settings.get(name) or "") if name else ""


class Connector(Protocol):
    """Collects one source through an HTTP client bound to its base URL."""

    source: str

    def collect(self, client: SourceHttpClient, day: date | None = None) -> CollectionResult: ...
