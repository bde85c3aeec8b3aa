"""A replay server per module and fast retry settings for connector tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aegis_orchestration.sources.breaker import reset_breakers
from aegis_orchestration.sources.catalog import SourceConfig
from aegis_orchestration.sources.http import RetryPolicy
from aegis_orchestration.sources.replay import ReplayServer

KEY = "test+key/with==한글"  # characters that break when a key is encoded twice
FAST = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02, jitter=0.01)


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(port=0, valid_keys={KEY}) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> Iterator[None]:
    reset_breakers()
    if "replay" in request.fixturenames:
        request.getfixturevalue("replay").clear()
    yield
    reset_breakers()


def config_for(server: ReplayServer, **overrides: object) -> SourceConfig:
    fields: dict[str, object] = {
        "bizinfo_base_url": server.base_url,
        "data_portal_base_url": server.base_url,
        "rss_base_url": server.base_url,
        "web_base_url": server.base_url,
        "bizinfo_api_key": KEY,
        "data_portal_service_key": KEY,
        "per_page": 25,
        "requests_per_second": None,
        "retry": FAST,
        "breaker_failure_threshold": 2,
        "breaker_reset_seconds": 60.0,
    }
    fields.update(overrides)
    return SourceConfig(**fields)  # type: ignore[arg-type]
