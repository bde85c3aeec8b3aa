"""The extras: every one `require_extra` can name exists in pyproject.toml, `make setup` installs
them all, and a missing one is a coded ImportError that names the line to run."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from aegis_shared import _extras
from aegis_shared._extras import EXTRAS, MissingExtraError, missing_modules, require_extra

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_every_extra_the_errors_name_is_declared_in_pyproject() -> None:
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert set(EXTRAS) <= set(declared)


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_the_dev_install_has_every_extra(extra: str) -> None:
    assert missing_modules(extra) == []
    require_extra(extra, "this test")


def test_a_missing_extra_is_a_coded_import_error_naming_the_install_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_extras, "EXTRAS", {**EXTRAS, "kafka": ("confluent_kafka", "no_such_module_h17")})
    with pytest.raises(ImportError) as caught:
        require_extra("kafka", "aegis_shared.messaging.EventPublisher")
    error = caught.value
    assert isinstance(error, MissingExtraError) and isinstance(error, ModuleNotFoundError)
    assert error.code == "SYS_7010" and error.extra == "kafka" and error.name == "no_such_module_h17"
    assert str(error) == (
        "[SYS_7010] aegis_shared.messaging.EventPublisher needs the 'kafka' extra "
        '(no_such_module_h17 not installed): pip install "aegis-platform[kafka]"'
    )
    assert error.details["missing"] == ["no_such_module_h17"]
