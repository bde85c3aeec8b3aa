"""A replay server per module and fast retry settings for connector tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from aegis_orchestration.sources.breaker import reset_breakers
from aegis_orchestration.sources.catalog import SourceConfig, pointing_at
from aegis_orchestration.sources.http import RetryPolicy
from aegis_orchestration.sources.registry import setting_names
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
    """Every source pointed at ``server`` with :data:`KEY`; an override named like a setting of the
    source table (``bizinfo_api_key=...``) replaces that setting, any other a collection option."""
    options: dict[str, object] = {
        "per_page": 25,
        "requests_per_second": None,
        "retry": FAST,
        "breaker_failure_threshold": 2,
        "breaker_reset_seconds": 60.0,
    }
    settings = {k: v for k, v in overrides.items() if k in setting_names()}
    options.update({k: v for k, v in overrides.items() if k not in settings})
    config = pointing_at(server.base_url, KEY, **options)
    return replace(config, settings={**config.settings, **settings})
