"""Every code the codebase uses is registered, fully documented and rendered in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aegis_shared.errors import (
    AegisError,
    ErrorCategory,
    ExternalServiceError,
    PipelineError,
    ValidationError,
    all_definitions,
    get_definition,
    is_registered,
)
from aegis_shared.errors.docs import main as docs_main
from aegis_shared.errors.docs import render_markdown

REPO_ROOT = Path(__file__).resolve().parents[3]
CODE_PATTERN = re.compile(r"[\"']((?:AUTH|AUTHZ|VALID|DB|EXT|BIZ|SYS|DP)_\d{4})[\"']")
SCANNED_ROOTS = ("aegis_shared", "aegis_orchestration", "tests", "benchmarks")


def _codes_used_in_repo() -> dict[str, list[str]]:
    """Every quoted error code in the project's Python files, with where it appears."""
    used: dict[str, list[str]] = {}
    for root in SCANNED_ROOTS:
        for path in (REPO_ROOT / root).rglob("*.py"):
            if ".venv" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for match in CODE_PATTERN.finditer(text):
                used.setdefault(match.group(1), []).append(str(path.relative_to(REPO_ROOT)))
    return used


def test_every_code_used_in_the_repo_is_registered() -> None:
    used = _codes_used_in_repo()
    assert used, "the scan found no codes at all; the pattern or the roots are wrong"
    missing = {code: where for code, where in used.items() if not is_registered(code)}
    assert missing == {}


def test_every_definition_has_every_field() -> None:
    definitions = all_definitions()
    assert len(definitions) > 50
    for d in definitions:
        assert d.code and d.message.strip() and d.user_message.strip() and d.resolution.strip(), d
        assert 400 <= d.http_status <= 599, d
        assert d.code.startswith(d.category.value + "_"), d
        # Korean user message: end users read Korean, never an English developer string.
        assert re.search(r"[\uac00-\ud7a3]", d.user_message), d


def test_every_category_and_pipeline_family_is_present() -> None:
    codes = {d.code for d in all_definitions()}
    for category in ErrorCategory:
        assert any(c.startswith(category.value + "_") for c in codes), category
    for family in ("DP_1", "DP_2", "DP_3", "DP_4"):
        assert any(c.startswith(family) for c in codes), family


def test_unknown_code_is_refused() -> None:
    with pytest.raises(KeyError, match="NOPE_0001"):
        get_definition("NOPE_0001")
    # Built at run time so the repo-wide code scan above does not see an unregistered literal.
    unregistered = "VALID_" + "9999"
    with pytest.raises(KeyError):
        AegisError(unregistered)


def test_to_dict_carries_code_status_user_message_and_details() -> None:
    err = ValidationError("VALID_3005", details={"pointer": "/data/title"})
    assert err.to_dict() == {
        "code": "VALID_3005",
        "message": get_definition("VALID_3005").message,
        "user_message": "이벤트 데이터가 스키마와 맞지 않습니다.",
        "http_status": 422,
        "details": {"pointer": "/data/title"},
    }
    assert "[VALID_3005]" in str(err)


def test_subclasses_default_to_their_family_and_accept_custom_messages() -> None:
    assert ValidationError().code.startswith("VALID_")
    assert PipelineError().code.startswith("DP_")
    err = ExternalServiceError("EXT_5012", "2 deliveries failed", details={"failed": 2})
    assert err.message == "2 deliveries failed"
    assert err.http_status == 503
    assert err.to_dict()["details"] == {"failed": 2}
    # details are copied so later mutation of the caller's dict cannot change the error
    original = {"a": 1}
    err2 = AegisError("SYS_7001", details=original)
    original["a"] = 2
    assert err2.details == {"a": 1}


def test_markdown_lists_every_code_once_with_its_user_message() -> None:
    markdown = render_markdown()
    for d in all_definitions():
        assert markdown.count(f"`{d.code}`") == 1, d.code
        assert d.user_message in markdown
    assert "## Data pipeline" in markdown


def test_committed_docs_are_up_to_date(tmp_path: Path) -> None:
    assert docs_main(["--check", "--output", str(REPO_ROOT / "docs" / "errors.md")]) == 0
    stale = tmp_path / "errors.md"
    stale.write_text("# old\n", encoding="utf-8")
    assert docs_main(["--check", "--output", str(stale)]) == 1
    assert docs_main(["--output", str(stale)]) == 0
    assert docs_main(["--check", "--output", str(stale)]) == 0
