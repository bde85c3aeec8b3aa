"""Structured logging: JSON lines, context binding, and secrets never reaching the output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from aegis_shared.config import Settings
from aegis_shared.logging import (
    REDACTED,
    bind_context,
    bound_context,
    clear_context,
    clear_registered_secrets,
    configure_logging,
    get_logger,
    mask_text,
    redact_value,
)

PLANTED = {
    "password": "hunter2-planted",
    "token": "tok-planted-123",
    "service_key": "SvcKeyPlanted%2B%3D",
    "crtfc_key": "crtfcPlanted999",
    "email": "ceo.kim@startup.co.kr",
    "mobile": "010-9876-5432",
    "mobile_plain": "01098765432",
    "seoul": "02-345-6789",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl",
}


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    # The service key is known to Settings, so even a bare occurrence in free text is masked.
    settings = Settings(data_portal_service_key=PLANTED["service_key"])
    configure_logging("DEBUG", json=True, service="test-service", stream=stream, settings=settings)
    clear_context()
    yield stream
    clear_context()
    clear_registered_secrets()
    configure_logging("WARNING", stream=io.StringIO())


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_secrets_planted_in_a_log_call_never_appear_in_the_output(output: io.StringIO) -> None:
    log = get_logger("aegis.test")
    log.info(
        f"calling with key {PLANTED['service_key']} for {PLANTED['email']} at {PLANTED['mobile']}",
        password=PLANTED["password"],
        headers={"Authorization": f"Bearer {PLANTED['token']}", "X-Api-Key": PLANTED["token"]},
        request={
            "url": f"https://apis.data.go.kr/1421000/x?serviceKey={PLANTED['service_key']}&pageNo=1",
            "params": [{"crtfcKey": PLANTED["crtfc_key"]}, {"note": f"call {PLANTED['mobile_plain']}"}],
        },
        contact=f"서울 사무소 {PLANTED['seoul']}",
        db_password=SecretStr(PLANTED["password"]),
        session=PLANTED["jwt"],
        detail=f"password={PLANTED['password']}",
    )
    logging.getLogger("httpx").warning(
        "HTTP Request: GET https://www.bizinfo.go.kr/api?crtfcKey=%s", PLANTED["crtfc_key"]
    )
    try:
        raise ValueError(f"upstream rejected token={PLANTED['token']} for {PLANTED['email']}")
    except ValueError:
        log.exception("call failed")

    text = output.getvalue()
    for name, secret in PLANTED.items():
        assert secret not in text, name
    records = _lines(output)
    assert len(records) == 3
    first = records[0]
    assert first["password"] == REDACTED
    assert first["headers"] == {"Authorization": REDACTED, "X-Api-Key": REDACTED}
    assert first["request"]["url"].endswith("serviceKey=[REDACTED]&pageNo=1")
    assert first["request"]["params"][0] == {"crtfcKey": REDACTED}
    assert "[PHONE]" in first["contact"] and "[EMAIL]" in first["event"]
    assert "[REDACTED]" in records[2]["exception"]


def test_json_lines_carry_level_logger_timestamp_service_and_context(output: io.StringIO) -> None:
    bind_context(request_id="req-1", run_id="run-9")
    with bound_context(asset_key="raw_announcements"):
        get_logger("aegis.assets").info("materialized", rows=12)
    get_logger("aegis.assets").warning("after block")
    first, second = _lines(output)
    assert first["event"] == "materialized" and first["rows"] == 12
    assert first["level"] == "info" and first["logger"] == "aegis.assets"
    assert first["service"] == "test-service"
    assert first["timestamp"].endswith("Z")
    context = (first["request_id"], first["run_id"], first["asset_key"])
    assert context == ("req-1", "run-9", "raw_announcements")
    assert "asset_key" not in second and second["run_id"] == "run-9"
    clear_context()
    get_logger("aegis.assets").info("cleared")
    assert "request_id" not in _lines(output)[-1]


def test_level_filter_and_stdlib_records_share_the_format(output: io.StringIO) -> None:
    configure_logging("WARNING", service="svc", stream=output)
    get_logger("a").info("dropped")
    logging.getLogger("third.party").error("kept %s", 1)
    (record,) = _lines(output)
    expected = {"event": "kept 1", "level": "error", "logger": "third.party", "service": "svc"}
    assert record == {**record, **expected}


def test_reconfiguring_does_not_duplicate_lines() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    configure_logging(stream=stream)
    get_logger("x").warning("once")
    assert stream.getvalue().count("once") == 1
    configure_logging("WARNING", stream=io.StringIO())


def test_console_renderer_is_redacted_too() -> None:
    stream = io.StringIO()
    configure_logging(json=False, stream=stream)
    get_logger("x").warning("plain", api_key="abc-planted")
    assert "abc-planted" not in stream.getvalue() and REDACTED in stream.getvalue()
    configure_logging("WARNING", stream=io.StringIO())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("010-1234-5678", "[PHONE]"),
        ("01012345678", "[PHONE]"),
        ("02-123-4567", "[PHONE]"),
        ("031.123.4567", "[PHONE]"),
        ("문의: 070-1234-5678", "문의: [PHONE]"),
        ("kim@example.com", "[EMAIL]"),
        ("?serviceKey=abc&x=1", "?serviceKey=[REDACTED]&x=1"),
        ("&crtfcKey=abc", "&crtfcKey=[REDACTED]"),
        ("postgresql+psycopg://app:pw@db:5432/aegis", "postgresql+psycopg://app:[REDACTED]@db:5432/aegis"),
    ],
)
def test_mask_text_masks_personal_data_and_credentials(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "policy 2025-0123 views 12345678901234",
        "token_count=5, tokens used: 5",
        "period 2025-01-01 ~ 2025-12-31",
    ],
)
def test_mask_text_leaves_ordinary_values_alone(text: str) -> None:
    assert mask_text(text) == text


def test_redact_value_walks_nested_structures_and_keys_case_insensitively() -> None:
    value = {
        "PASSWORD": "x",
        "Refresh_Token": "y",
        "nested": [{"ServiceKey": "z", "ok": 1}, ("a@b.co",)],
        "count": 3,
        "flag": None,
    }
    assert redact_value(value) == {
        "PASSWORD": REDACTED,
        "Refresh_Token": REDACTED,
        "nested": [{"ServiceKey": REDACTED, "ok": 1}, ["[EMAIL]"]],
        "count": 3,
        "flag": None,
    }
