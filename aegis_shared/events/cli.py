"""``aegis events …``: check two schema files, register a version, measure conformance.

Exit codes: 0 success or compatible, 1 incompatible (``check``, ``register``) or a conformance
disagreement, 2 bad input (unreadable or invalid schema, unknown mode), with the error code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from aegis_shared.errors import AegisError, ValidationError
from aegis_shared.errors.cli import coded_errors
from aegis_shared.events.compatibility import CompatibilityMode, check_compatibility
from aegis_shared.events.conformance import CONFORMANCE_DIR_ENV, find_corpus, run_conformance
from aegis_shared.events.registry import DEFAULT_SCHEMAS_DIR, SchemaRegistry
from aegis_shared.events.registry_store import FileRegistryStore

DEFAULT_REGISTRY = DEFAULT_SCHEMAS_DIR
_MODES = [m.value for m in CompatibilityMode]


def _breaking_lines(exc: AegisError) -> list[str]:
    return [f"  BREAKING {c['kind']} {c['pointer']}" for c in exc.details.get("breaking_changes", [])]


# Exit status 2 for bad input, 1 when the schema is refused for breaking compatibility.
_coded_errors = coded_errors(
    exit_status=lambda exc: 1 if exc.code == "VALID_3006" else 2, more=_breaking_lines
)


def _read_schema(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(
            "VALID_3012", f"cannot read schema file {path}: {exc}", details={"path": str(path)}
        ) from exc


@click.group(name="events")
def events() -> None:
    """Event schemas: compatibility checks, registration, conformance."""


@events.command("check")
@click.argument("old", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("new", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--mode", type=click.Choice(_MODES, case_sensitive=False), default="BACKWARD", show_default=True
)
@_coded_errors
def check_command(old: Path, new: Path, mode: str) -> None:
    """Compare NEW against OLD; exit 1 when incompatible."""
    result = check_compatibility(_read_schema(old), _read_schema(new), mode)
    for change in result.changes:
        label = "BREAKING" if change.breaking else "ok      "
        click.echo(f"{label} {change.kind} {change.pointer}")
    click.echo(f"{'compatible' if result.is_compatible else 'incompatible'} under {result.mode.value}")
    sys.exit(0 if result.is_compatible else 1)


@events.command("register")
@click.argument("subject")
@click.argument("schema", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--registry",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_REGISTRY,
    show_default=True,
    help="Registry root directory.",
)
@_coded_errors
def register_command(subject: str, schema: Path, registry: Path) -> None:
    """Register SCHEMA as the next version of SUBJECT, if it keeps the subject's mode."""
    outcome = SchemaRegistry(FileRegistryStore(registry)).register_schema(subject, _read_schema(schema))
    number = outcome.version.version
    if outcome.created:
        click.echo(f"registered {subject} v{number}")
    else:
        click.echo(f"{subject} already has this schema as v{number}")


@events.command("conformance")
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@_coded_errors
def conformance_command(directory: Path | None) -> None:
    """Run Confluent's JSON Schema compatibility cases in DIRECTORY and print the agreement.

    Without DIRECTORY, the corpus is found from AEGIS_CONFORMANCE_DIR or ../shared/conformance
    beside the checkout.
    """
    corpus = directory or find_corpus()
    if corpus is None:
        raise ValidationError(
            "VALID_3001",
            f"no conformance corpus found: pass DIRECTORY or set {CONFORMANCE_DIR_ENV}",
            details={"env": CONFORMANCE_DIR_ENV},
        )
    report = run_conformance(corpus)
    click.echo(report.summary)
    for line in report.disagreements:
        click.echo(f"  disagree: {line}")
    sys.exit(0 if report.agreed == report.total else 1)
