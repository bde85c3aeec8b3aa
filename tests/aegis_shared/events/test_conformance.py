"""Agreement with Confluent Schema Registry's own JSON Schema compatibility cases.

The corpus lives outside the project (``../shared/conformance`` beside the checkout, or
``AEGIS_CONFORMANCE_DIR``) and is read in place. The assertion is a ratchet: the agreement may
rise, never fall. A bare clone has no corpus: that one test skips and says where to put it; the
runner and the CLI are tested on small case files written here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aegis_shared.errors import get_definition
from aegis_shared.events.cli import events
from aegis_shared.events.conformance import CONFORMANCE_DIR_ENV, CORPUS_NAME, find_corpus, run_conformance

CORPUS_SIZE = 263
AGREED_AT_LEAST = 263  # measured; raise it, never lower it


def _write_cases(folder: Path, *cases: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cases.json").write_text(json.dumps(list(cases)), encoding="utf-8")
    return folder


AGREEING = {
    "description": "relaxing maxLength is fine",
    "original_schema": {"type": "string", "maxLength": 5},
    "update_schema": {"type": "string", "maxLength": 9},
    "changes": ["MAX_LENGTH_INCREASED #/maxLength"],
    "compatible": True,
}


def test_agreement_with_confluent_does_not_regress() -> None:
    corpus = find_corpus()
    if corpus is None:
        pytest.skip(
            f"Confluent conformance corpus not found: set {CONFORMANCE_DIR_ENV} or place "
            f"conformance/{CORPUS_NAME} in ../shared beside the checkout"
        )
    report = run_conformance(corpus)
    print(f"\nconfluent JSON Schema compatibility: {report.summary}")
    for line in report.disagreements:
        print(f"  disagree: {line}")
    assert report.total == CORPUS_SIZE
    assert report.agreed >= AGREED_AT_LEAST, "\n".join(report.disagreements)


def test_the_corpus_is_found_from_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The variable may name the case folder itself or the folder that holds it.
    cases = _write_cases(tmp_path / "elsewhere" / CORPUS_NAME, AGREEING)
    monkeypatch.setenv(CONFORMANCE_DIR_ENV, str(cases))
    assert find_corpus() == cases
    monkeypatch.setenv(CONFORMANCE_DIR_ENV, str(cases.parent))
    assert find_corpus() == cases
    # Set but empty or missing: nothing is found (not silently the checkout's neighbour).
    monkeypatch.setenv(CONFORMANCE_DIR_ENV, str(tmp_path / "missing"))
    assert find_corpus() is None


def test_cli_conformance_without_a_corpus_says_where_to_put_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFORMANCE_DIR_ENV, str(tmp_path / "missing"))
    result = CliRunner().invoke(events, ["conformance"])
    assert result.exit_code == 2
    assert "VALID_3001" in result.output and CONFORMANCE_DIR_ENV in result.output
    # The operator also reads what to do, from the error registry.
    assert f"resolution: {get_definition('VALID_3001').resolution}" in result.output


def test_cli_conformance_reads_the_corpus_the_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFORMANCE_DIR_ENV, str(_write_cases(tmp_path / "cases", AGREEING)))
    result = CliRunner().invoke(events, ["conformance"])
    assert result.exit_code == 0, result.output
    assert "agree 1/1" in result.output


def test_cli_conformance_on_empty_directory_is_a_coded_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(events, ["conformance", str(tmp_path)])
    assert result.exit_code == 2
    assert "VALID_3001" in result.output


def test_cli_conformance_counts_a_disagreement(tmp_path: Path) -> None:
    # A case file claiming a type change is compatible: we disagree, and say which case.
    _write_cases(
        tmp_path,
        AGREEING,
        {
            "description": "claims string->object is fine",
            "original_schema": {"type": "string"},
            "update_schema": {"type": "object"},
            "changes": [],
            "compatible": True,
        },
    )
    result = CliRunner().invoke(events, ["conformance", str(tmp_path)])
    assert result.exit_code == 1
    assert "agree 1/2" in result.output
    assert "claims string->object is fine" in result.output


def test_the_runner_is_still_importable_from_compatibility() -> None:
    from aegis_shared.events import compatibility

    assert compatibility.run_conformance is run_conformance
