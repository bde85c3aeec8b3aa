"""Every code the codebase uses is registered, fully documented and rendered in the docs; the
registry is data (``codes.toml``) whose bad rows are refused with the code and the reason."""

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
from aegis_shared.errors.registry import RegistryDataError, category_definitions, find_code, load_registry

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


# ---- the registry is data: codes.toml, checked when it is loaded ------------------------------

DATA = (REPO_ROOT / "aegis_shared" / "errors" / "codes.toml").read_text(encoding="utf-8")
_CATEGORIES = DATA[DATA.index("\n[categories]\n") : DATA.index("\n[codes]\n") + 1]
_ROW = 'http = 500, message = "m", user_message = "문제", resolution = "r"'
_BLANK_RESOLUTION = _ROW.replace('"r"', '"  "')


def _registry_with(*code_lines: str) -> str:
    return _CATEGORIES + "[codes]\n" + "\n".join(code_lines) + "\n"


def test_the_shipped_data_has_one_line_per_code_and_loads_every_one() -> None:
    lines = [line for line in DATA.splitlines() if re.match(r"^[A-Z]+_\d{4} = \{", line)]
    assert len(lines) == len(all_definitions())
    assert load_registry(DATA).codes.keys() == {d.code for d in all_definitions()}


def test_categories_and_ranges_come_from_the_data() -> None:
    pipeline = next(c for c in category_definitions() if c.category is ErrorCategory.DP)
    assert [r.family for r in pipeline.ranges] == ["collection", "validation", "sync", "processing"]
    for d in all_definitions():
        number = int(d.code.split("_")[1])
        category = next(c for c in category_definitions() if c.category is d.category)
        assert category.range_of(number) is not None, d.code


@pytest.mark.parametrize(
    ("lines", "named", "reason"),
    [
        # Built from pieces so the repo-wide scan above does not see an unregistered code.
        ([f"AUTH_{5001} = {{ {_ROW} }}"], f"AUTH_{5001}", "outside the AUTH ranges"),
        ([f"NOPE_1001 = {{ {_ROW} }}"], "NOPE_1001", "prefix from [categories]"),
        (
            ['SYS_7001 = { http = 500, message = "m", user_message = "문제" }'],
            "SYS_7001",
            "exactly the fields",
        ),
        ([f'SYS_7001 = {{ {_ROW}, owner = "me" }}'], "SYS_7001", "exactly the fields"),
        ([f"SYS_7001 = {{ {_ROW.replace('500', '200')} }}"], "SYS_7001", "error status"),
        ([f"SYS_7001 = {{ {_BLANK_RESOLUTION} }}"], "SYS_7001", "'resolution' must be"),
        ([f"SYS_7001 = {{ {_ROW} }}", f"SYS_7001 = {{ {_ROW} }}"], "SYS_7001", "not valid TOML"),
    ],
)
def test_a_bad_row_is_refused_naming_the_code_and_the_reason(
    lines: list[str], named: str, reason: str
) -> None:
    with pytest.raises(RegistryDataError) as error:
        load_registry(_registry_with(*lines))
    assert reason in str(error.value)
    assert named in str(error.value) or "TOML" in str(error.value)


def test_categories_must_match_the_prefixes() -> None:
    with pytest.raises(RegistryDataError, match=r"\[categories\] must list exactly"):
        load_registry(_CATEGORIES.replace("BIZ =", "BUSINESS =") + f"[codes]\nSYS_7001 = {{ {_ROW} }}\n")
    with pytest.raises(RegistryDataError, match=r"\[codes\] is missing or empty"):
        load_registry(_CATEGORIES)


def test_an_error_tells_the_operator_what_to_do() -> None:
    err = PipelineError("DP_2009", "quality expectation expect_column_values_to_not_be_null failed to run")
    assert err.resolution == get_definition("DP_2009").resolution
    first, second = err.operator_text().splitlines()
    assert first == f"[DP_2009] {err.message}"
    assert second == f"  resolution: {err.resolution}"
    # The resolution is for operators: the API body an end user sees does not carry it.
    assert "resolution" not in err.to_dict()


def test_find_code_reads_a_registered_code_the_way_errors_render_themselves() -> None:
    assert find_code(f"PipelineError: {PipelineError('DP_2009')}") == get_definition("DP_2009")
    assert find_code("plain words, no code") is None
    assert find_code("[SYS_" + "0000] not registered, then [EXT_5011] open") == get_definition("EXT_5011")
