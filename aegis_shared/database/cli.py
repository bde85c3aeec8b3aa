"""``aegis schema …``: validate the registry, show order and cycles, write docs/ERD, migrate.

A click group; the ``aegis`` console script attaches it. Every coded error is printed as
``[CODE] message`` on stderr with exit status 1, so CI logs say what is wrong and where.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from aegis_shared.database.engine import create_engine
from aegis_shared.database.migration_coordinator import MigrationCoordinator
from aegis_shared.database.migration_plan import MigrationPlan
from aegis_shared.database.schema_docs import to_markdown, to_mermaid
from aegis_shared.database.schema_registry import SchemaRegistry
from aegis_shared.errors.cli import coded_errors

F = TypeVar("F", bound=Callable[..., Any])

_dir_option = click.option(
    "--dir",
    "registry_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    envvar="AEGIS_SCHEMA_DIR",
    help="Registry directory (default: the schemas/db shipped in aegis_shared).",
)
_url_option = click.option(
    "--database-url", envvar="AEGIS_POSTGRES_URL", default=None, help="PostgreSQL URL (default: settings)."
)


# Exit status 1, and the report starts with the code itself (no "error " prefix).
_coded = coded_errors(exit_status=1, prefix="")


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


def _print_plan(plan: MigrationPlan, *, as_json: bool) -> None:
    if as_json:
        payload = {"impact": plan.impact.to_dict(), "steps": [s.to_dict() for s in plan.steps]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(plan.impact.to_text())
    click.echo(f"Steps: {len(plan.steps)}")
    for step in plan.steps:
        risk = f"  [DATA LOSS: {step.data_loss}]" if step.data_loss else ""
        click.echo(f"  {step.number}. {step.kind} {step.table} ({step.service or '-'}){risk}")


def _lock_options(func: F) -> F:
    """``--lock-timeout`` and ``--actor``, shared by the commands that take the migration lock."""
    func = click.option(
        "--actor", default=None, help="Name recorded in schema_migrations (default: OS user)."
    )(func)
    return click.option(
        "--lock-timeout", type=float, default=0.0, show_default=True, help="Seconds to wait for the lock."
    )(func)


@contextlib.contextmanager
def _coordinator(
    registry_dir: Path | None, database_url: str | None, actor: str | None, lock_timeout: float
) -> Iterator[MigrationCoordinator]:
    """A coordinator on its own engine, disposed when the command is done."""
    engine = create_engine(database_url)
    try:
        yield MigrationCoordinator(
            engine, SchemaRegistry.load(registry_dir), actor=actor, lock_timeout=lock_timeout
        )
    finally:
        engine.dispose()


@click.group("schema")
def schema() -> None:
    """The YAML database schema registry and its migration coordinator."""


@schema.command()
@_dir_option
@_coded
def validate(registry_dir: Path | None) -> None:
    """Check every file, every reference and the absence of cycles."""
    registry = SchemaRegistry.load(registry_dir)
    registry.migration_order()
    click.echo(f"OK: {len(registry)} tables valid")


@schema.command()
@_dir_option
@_coded
def order(registry_dir: Path | None) -> None:
    """Print the dependencies-first migration order."""
    for name in SchemaRegistry.load(registry_dir).migration_order():
        click.echo(name)


@schema.command()
@_dir_option
@_coded
def cycles(registry_dir: Path | None) -> None:
    """Print every reference cycle; exit status 1 when there is one between tables."""
    found = SchemaRegistry.load(registry_dir).cycles()
    for cycle in found:
        click.echo(" -> ".join([*cycle, cycle[0]]))
    if not found:
        click.echo("no cycles")
    if any(len(cycle) > 1 for cycle in found):
        raise SystemExit(1)


@schema.command()
@_dir_option
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None)
@_coded
def docs(registry_dir: Path | None, output: Path | None) -> None:
    """Write Markdown documentation of every table and reference."""
    _write(to_markdown(SchemaRegistry.load(registry_dir)), output)


@schema.command()
@_dir_option
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None)
@_coded
def erd(registry_dir: Path | None, output: Path | None) -> None:
    """Write a Mermaid erDiagram."""
    _write(to_mermaid(SchemaRegistry.load(registry_dir)), output)


@schema.command()
@_dir_option
@_url_option
@click.option(
    "--from",
    "from_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Compare with this older registry instead of the live database.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_coded
def impact(registry_dir: Path | None, database_url: str | None, from_dir: Path | None, as_json: bool) -> None:
    """Show which tables and services a migration touches and what it would destroy."""
    registry = SchemaRegistry.load(registry_dir)
    engine = create_engine(database_url)
    try:
        coordinator = MigrationCoordinator(engine, registry)
        plan = coordinator.plan_from(SchemaRegistry.load(from_dir)) if from_dir else coordinator.plan()
    finally:
        engine.dispose()
    _print_plan(plan, as_json=as_json)


@schema.command()
@_dir_option
@_url_option
@click.option("--dry-run", is_flag=True, help="Print the SQL and change nothing.")
@click.option("--allow-data-loss", is_flag=True, help="Allow dropping tables/columns and narrowing types.")
@_lock_options
@_coded
def migrate(
    registry_dir: Path | None,
    database_url: str | None,
    dry_run: bool,
    allow_data_loss: bool,
    lock_timeout: float,
    actor: str | None,
) -> None:
    """Bring the database to the registry in one transaction under the migration lock."""
    with _coordinator(registry_dir, database_url, actor, lock_timeout) as coordinator:
        result = coordinator.migrate(allow_data_loss=allow_data_loss, dry_run=dry_run)
    if result.plan.is_empty:
        click.echo("Database is up to date.")
    elif dry_run:
        _print_plan(result.plan, as_json=False)
        click.echo(result.plan.sql)
    else:
        click.echo(f"Applied {len(result.plan.steps)} steps in {result.duration_ms:.0f} ms.")


@schema.command()
@_dir_option
@_url_option
@click.option("--dry-run", is_flag=True, help="Print the undo SQL and change nothing.")
@click.option("--allow-data-loss", is_flag=True, help="Drop added tables/columns that already hold data.")
@_lock_options
@_coded
def rollback(
    registry_dir: Path | None,
    database_url: str | None,
    dry_run: bool,
    allow_data_loss: bool,
    lock_timeout: float,
    actor: str | None,
) -> None:
    """Undo the last applied migration when it only added things; recorded in schema_migrations."""
    with _coordinator(registry_dir, database_url, actor, lock_timeout) as coordinator:
        result = coordinator.rollback(allow_data_loss=allow_data_loss, dry_run=dry_run)
    if dry_run:
        for risk in result.data_loss_risks:
            click.echo(f"DATA LOSS: {risk}")
        click.echo(result.sql)
    else:
        click.echo(f"Rolled back migration {result.reverted_id}: {len(result.steps)} steps undone.")


@schema.command()
@_dir_option
@_url_option
@_coded
def status(registry_dir: Path | None, database_url: str | None) -> None:
    """Exit 0 when the database is at the registry's version, else DB_4020 naming the command."""
    registry = SchemaRegistry.load(registry_dir)
    engine = create_engine(database_url)
    try:
        MigrationCoordinator(engine, registry).check()
    finally:
        engine.dispose()
    click.echo(f"Database is at schema version {registry.version()}.")
