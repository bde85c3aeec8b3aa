"""The ``aegis`` command: a coded error no sub-command handles is one line and what to do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from aegis_orchestration.cli import main
from aegis_shared.config import get_settings
from aegis_shared.errors import get_definition


@pytest.fixture
def production_without_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A production profile requires the PostgreSQL, Kafka and Redis settings; none is set here.
    monkeypatch.setenv("AEGIS_ENV", "prod")
    for name in ("AEGIS_POSTGRES_URL", "AEGIS_KAFKA_BOOTSTRAP", "AEGIS_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_coded_failure_prints_its_code_and_resolution_not_a_traceback(
    production_without_settings: None,
) -> None:
    result = CliRunner().invoke(main, ["pipeline", "explain", "bizinfo:PBLN_1"])
    assert result.exit_code == 2
    first, second = result.output.strip().splitlines()[-2:]
    assert first.startswith("error [SYS_7020]") and "AEGIS_POSTGRES_URL" in first
    assert second == f"  resolution: {get_definition('SYS_7020').resolution}"
    assert "Traceback" not in result.output
