"""Agreement of our compatibility checker with Confluent Schema Registry's own test corpus.

The corpus (Confluent's JSON Schema compatibility cases, 263 of them, unchanged but for JSON
strictness) is not part of this repository: it lives in the workspace beside the checkout,
``../shared/conformance/confluent-json-schema-compat``, or wherever ``AEGIS_CONFORMANCE_DIR``
points. :func:`find_corpus` looks in both places; ``aegis events conformance`` runs it and prints
the agreement. See ``docs/events.md`` ("Compatibility") for what a case holds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from aegis_shared.errors import ValidationError
from aegis_shared.events.compatibility import check_compatibility

CONFORMANCE_DIR_ENV = "AEGIS_CONFORMANCE_DIR"
CORPUS_NAME = "confluent-json-schema-compat"
# A source checkout: aegis_shared/events/conformance.py -> the repository root -> its parent.
_BESIDE_CHECKOUT = Path(__file__).resolve().parents[3] / "shared" / "conformance"


@dataclass(frozen=True, slots=True)
class ConformanceReport:
    """How many corpus cases this checker decides the way Confluent does."""

    total: int
    agreed: int
    disagreements: tuple[str, ...]

    @property
    def summary(self) -> str:
        return f"agree {self.agreed}/{self.total}"


def find_corpus() -> Path | None:
    """The folder of Confluent's case files, or None when this checkout has none.

    ``AEGIS_CONFORMANCE_DIR`` wins when set: it names the folder of ``*.json`` case files or
    the folder holding ``confluent-json-schema-compat``. Otherwise ``../shared/conformance``
    beside the checkout is used when it exists (an installed wheel has no such folder).
    """
    configured = os.environ.get(CONFORMANCE_DIR_ENV)
    candidates = [Path(configured)] if configured else [_BESIDE_CHECKOUT]
    for base in candidates:
        for folder in (base / CORPUS_NAME, base):
            if folder.is_dir() and any(folder.glob("*.json")):
                return folder
    return None


def run_conformance(directory: Path) -> ConformanceReport:
    """Run every case in the ``*.json`` files of ``directory`` under BACKWARD compatibility.

    Each case holds ``original_schema``, ``update_schema`` and Confluent's ``compatible``
    verdict; a case whose schemas this checker rejects counts as a disagreement.
    """
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise ValidationError(
            "VALID_3001",
            f"no conformance case files (*.json) in {directory}",
            details={"dir": str(directory)},
        )
    total = agreed = 0
    disagreements: list[str] = []
    for path in files:
        for index, case in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            total += 1
            label = f"{path.name}[{index}] {case.get('description', '')}"
            try:
                verdict = check_compatibility(case["original_schema"], case["update_schema"]).is_compatible
            except ValidationError as exc:
                disagreements.append(f"{label}: error {exc.code} {exc.message}")
                continue
            if verdict == bool(case["compatible"]):
                agreed += 1
            else:
                disagreements.append(f"{label}: expected compatible={case['compatible']}, got {verdict}")
    return ConformanceReport(total, agreed, tuple(disagreements))
