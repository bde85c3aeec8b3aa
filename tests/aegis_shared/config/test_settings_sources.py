"""Settings from a ``.env`` file and from ``*_FILE`` secrets, per-environment defaults and required
settings, and secrets that never reach a log line."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aegis_shared.config import Environment, Settings, detect_environment
from aegis_shared.errors import AegisError
from aegis_shared.logging import clear_registered_secrets, configure_logging, get_logger

PROD_VALUES = {
    "AEGIS_POSTGRES_URL": "postgresql+psycopg://aegis:pg-Planted-Pass-1@db.internal:5432/aegis",
    "AEGIS_KAFKA_BOOTSTRAP": "broker1.internal:9092,broker2.internal:9092",
    "AEGIS_REDIS_URL": "redis://:redis-Planted-Pass-2@cache.internal:6379/0",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AEGIS_* variable from the outer environment, and a working directory of our own (where
    Settings looks for ``.env``)."""
    for name in list(os.environ):
        if name.upper().startswith("AEGIS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _secret_file(directory: Path, name: str, content: str) -> Path:
    path = directory / name
    path.write_text(content, encoding="utf-8")
    return path


def test_dotenv_file_in_the_working_directory_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "# local overrides\n"
        "AEGIS_KAFKA_BOOTSTRAP=10.1.2.3:9092\n"
        "AEGIS_BIZINFO_API_KEY='bizinfo-dotenv-key'\n"
        "AEGIS_QUALITY_ACTIVE_THRESHOLD=0.8\n"
        "UNRELATED_TOOL_SETTING=ignored\n",
        encoding="utf-8",
    )
    settings = Settings()
    assert settings.kafka_bootstrap == "10.1.2.3:9092"
    assert settings.bizinfo_api_key.get_secret_value() == "bizinfo-dotenv-key"
    assert settings.quality_active_threshold == 0.8


def test_environment_variables_override_the_dotenv_file(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text("AEGIS_KAFKA_BOOTSTRAP=from-dotenv:9092\n", encoding="utf-8")
    monkeypatch.setenv("AEGIS_KAFKA_BOOTSTRAP", "from-env:9092")
    assert Settings().kafka_bootstrap == "from-env:9092"


def test_a_dotenv_file_elsewhere_is_read_when_named(clean_env: Path) -> None:
    other = clean_env / "deploy" / "staging.env"
    other.parent.mkdir()
    other.write_text("AEGIS_SERVICE_NAME=policy-service\n", encoding="utf-8")
    assert Settings(_env_file=other).service_name == "policy-service"  # type: ignore[call-arg]
    assert Settings().service_name == "aegis-data-platform"


def test_secret_read_from_the_file_a_file_variable_names(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As Docker and Kubernetes mount it: one file per secret, ending in a newline.
    secret = _secret_file(clean_env, "data_portal_service_key", "Portal%2BKey%3D%3D-from-file\n")
    monkeypatch.setenv("AEGIS_DATA_PORTAL_SERVICE_KEY_FILE", str(secret))
    settings = Settings()
    assert settings.data_portal_service_key.get_secret_value() == "Portal%2BKey%3D%3D-from-file"


def test_file_variable_in_the_dotenv_file_works_too(clean_env: Path) -> None:
    secret = _secret_file(clean_env, "neo4j_password", "neo4j-Planted-3\r\n")
    (clean_env / ".env").write_text(f"AEGIS_NEO4J_PASSWORD_FILE={secret}\n", encoding="utf-8")
    assert Settings().neo4j_password.get_secret_value() == "neo4j-Planted-3"


def test_missing_secret_file_is_a_coded_error_naming_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_POSTGRES_URL_FILE", str(clean_env / "not-mounted"))
    with pytest.raises(AegisError) as caught:
        Settings()
    assert caught.value.code == "SYS_7021"
    assert "AEGIS_POSTGRES_URL_FILE" in caught.value.message
    assert "not-mounted" in caught.value.message


def test_empty_secret_file_is_refused(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_REDIS_URL_FILE", str(_secret_file(clean_env, "redis_url", "\n")))
    with pytest.raises(AegisError) as caught:
        Settings()
    assert caught.value.code == "SYS_7021" and "empty" in caught.value.message


def test_value_and_file_variable_both_set_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_REDIS_URL", "redis://one:6379/0")
    monkeypatch.setenv("AEGIS_REDIS_URL_FILE", str(_secret_file(clean_env, "r", "redis://two:6379/0")))
    with pytest.raises(AegisError) as caught:
        Settings()
    assert caught.value.code == "SYS_7022"
    assert "AEGIS_REDIS_URL" in caught.value.message and "AEGIS_REDIS_URL_FILE" in caught.value.message
    # Neither value leaks into the error.
    assert "one:6379" not in str(caught.value) and "two:6379" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("prod", Environment.PROD),
        ("production", Environment.PROD),
        ("prod-kr", Environment.PROD),
        ("PRD", Environment.PROD),
        ("staging", Environment.STAGING),
        ("stg", Environment.STAGING),
        ("test", Environment.TEST),
        ("ci", Environment.TEST),
        ("dev", Environment.DEV),
        ("t3f9a01bc2d", Environment.DEV),  # a test run's random topic prefix
        ("", Environment.DEV),
    ],
)
def test_environment_detected_from_aegis_env(name: str, expected: Environment) -> None:
    assert detect_environment(name) is expected


def test_development_starts_with_nothing_set(clean_env: Path) -> None:
    settings = Settings()
    assert settings.environment is Environment.DEV
    assert settings.log_format is None  # each entry point picks its own
    assert settings.postgres_url.get_secret_value().startswith("postgresql+psycopg://postgres@127.0.0.1")


def test_prod_names_every_missing_required_setting(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_ENV", "prod")
    monkeypatch.setenv("AEGIS_KAFKA_BOOTSTRAP", PROD_VALUES["AEGIS_KAFKA_BOOTSTRAP"])
    with pytest.raises(AegisError) as caught:
        Settings()
    error = caught.value
    assert error.code == "SYS_7020"
    assert error.details["missing"] == ["AEGIS_POSTGRES_URL", "AEGIS_REDIS_URL"]
    assert "AEGIS_POSTGRES_URL (or AEGIS_POSTGRES_URL_FILE)" in error.message
    assert "AEGIS_KAFKA_BOOTSTRAP" not in error.message


def test_prod_refuses_an_empty_secret(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PROD_VALUES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AEGIS_ENV", "production")
    monkeypatch.setenv("AEGIS_REDIS_URL", "")
    with pytest.raises(AegisError) as caught:
        Settings()
    assert caught.value.code == "SYS_7020" and caught.value.details["missing"] == ["AEGIS_REDIS_URL"]


def test_prod_with_secrets_from_files_starts_with_production_defaults(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_ENV", "prod")
    for name, value in PROD_VALUES.items():
        monkeypatch.setenv(f"{name}_FILE", str(_secret_file(clean_env, name.lower(), value + "\n")))
    settings = Settings()
    assert settings.environment is Environment.PROD
    assert settings.postgres_url.get_secret_value() == PROD_VALUES["AEGIS_POSTGRES_URL"]
    assert (settings.log_format, settings.log_level) == ("json", "INFO")
    assert settings.topic("policy") == "prod.aegis.policy.v1"


def test_explicit_setting_beats_the_environment_default(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in PROD_VALUES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AEGIS_ENV", "staging")
    monkeypatch.setenv("AEGIS_LOG_FORMAT", "console")
    assert Settings().log_format == "console"


def test_require_names_what_a_service_needs(clean_env: Path) -> None:
    settings = Settings(bizinfo_api_key="bizinfo-Planted-4")
    settings.require("bizinfo_api_key")
    with pytest.raises(AegisError) as caught:
        settings.require("bizinfo_api_key", "data_portal_service_key", "neo4j_uri")
    assert caught.value.details["missing"] == ["AEGIS_DATA_PORTAL_SERVICE_KEY", "AEGIS_NEO4J_URI"]


def test_value_of_answers_declared_and_undeclared_settings_alike(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_BIZINFO_API_KEY", "bizinfo-Planted-5")
    monkeypatch.setenv("AEGIS_GAZETTE_BASE_URL", "https://gazette.example")
    key_file = _secret_file(clean_env, "gazette_key", "gazette-Planted-6\n")
    monkeypatch.setenv("AEGIS_GAZETTE_API_KEY_FILE", str(key_file))
    settings = Settings()
    assert settings.value_of("bizinfo_api_key") == "bizinfo-Planted-5"  # a secret, revealed
    assert settings.value_of("web_base_url") is None  # declared, unset
    assert settings.value_of("gazette_base_url") == "https://gazette.example"  # declared nowhere
    assert settings.value_of("gazette_api_key") == "gazette-Planted-6"
    assert settings.value_of("gazette_other") is None

    monkeypatch.setenv("AEGIS_GAZETTE_API_KEY", "gazette-Planted-7")
    with pytest.raises(AegisError) as caught:
        settings.value_of("gazette_api_key")
    assert caught.value.code == "SYS_7022" and "AEGIS_GAZETTE_API_KEY_FILE" in caught.value.message
    assert "gazette-Planted" not in str(caught.value.details)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    clear_registered_secrets()
    configure_logging("WARNING", stream=io.StringIO())


def test_logging_the_settings_shows_no_secret(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    monkeypatch.setenv("AEGIS_ENV", "prod")
    for name, value in PROD_VALUES.items():
        monkeypatch.setenv(name, value)
    key_file = _secret_file(clean_env, "key", "Planted-Portal-Key-5\n")
    monkeypatch.setenv("AEGIS_DATA_PORTAL_SERVICE_KEY_FILE", str(key_file))
    settings = Settings()
    configure_logging("INFO", json=True, stream=log_output, settings=settings)

    log = get_logger("aegis.test.config")
    log.info("settings loaded", settings=settings, dumped=settings.model_dump())
    log.info(f"effective settings {settings!r} / {settings.model_dump()}")
    log.warning(
        "a caller pasted the key %s into a message", settings.data_portal_service_key.get_secret_value()
    )

    text = log_output.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 3 and "broker1.internal" in text  # the settings were logged, not dropped
    for planted in ("pg-Planted-Pass-1", "redis-Planted-Pass-2", "Planted-Portal-Key-5"):
        assert planted not in text
