"""Agreement with Confluent Schema Registry's own JSON Schema compatibility cases.

The corpus lives outside the project (``../shared/conformance`` beside the repository) and is
read in place. The assertion is a ratchet: the agreement may rise, never fall.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aegis_shared.events.cli import events
from aegis_shared.events.compatibility import run_conformance

CORPUS_SIZE = 263
AGREED_AT_LEAST = 263  # measured; raise it, never lower it


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    return next(p for p in here.parents if (p / "pyproject.toml").is_file())


CORPUS = _repo_root().parent / "shared" / "conformance" / "confluent-json-schema-compat"


@pytest.fixture(scope="module")
def corpus() -> Path:
    # The corpus is part of the workspace this project is built in; its absence is a broken
    # checkout, so fail loudly rather than skip.
    assert CORPUS.is_dir(), f"Confluent conformance corpus not found at {CORPUS}"
    return CORPUS


def test_agreement_with_confluent_does_not_regress(corpus: Path) -> None:
    report = run_conformance(corpus)
    print(f"\nconfluent JSON Schema compatibility: {report.summary}")
    for line in report.disagreements:
        print(f"  disagree: {line}")
    assert report.total == CORPUS_SIZE
    assert report.agreed >= AGREED_AT_LEAST, "\n".join(report.disagreements)


def test_cli_conformance_prints_agreement(corpus: Path) -> None:
    result = CliRunner().invoke(events, ["conformance", str(corpus)])
    assert f"agree {AGREED_AT_LEAST}/{CORPUS_SIZE}" in result.output
    assert result.exit_code == (0 if AGREED_AT_LEAST == CORPUS_SIZE else 1)


def test_cli_conformance_on_empty_directory_is_a_coded_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(events, ["conformance", str(tmp_path)])
    assert result.exit_code == 2
    assert "VALID_3001" in result.output


def test_cli_conformance_counts_a_disagreement(tmp_path: Path) -> None:
    # A case file claiming a type change is compatible: we disagree, and say which case.
    (tmp_path / "cases.json").write_text(
        '[{"description": "claims string->object is fine", "original_schema": {"type": "string"},'
        ' "update_schema": {"type": "object"}, "changes": [], "compatible": true}]'
    )
    result = CliRunner().invoke(events, ["conformance", str(tmp_path)])
    assert result.exit_code == 1
    assert "agree 0/1" in result.output
    assert "claims string->object is fine" in result.output
