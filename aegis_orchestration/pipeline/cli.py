"""``aegis pipeline preview|explain``: why a policy is (not) active, without reading code.

``preview`` runs the cold path's decisions on a JSON Lines file of announcements (one
``Announcement`` JSON object per line, as ``raw_announcements.payload`` holds them) for a stated
day; ``explain`` reads a stored policy's row and decision trail from PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError as ModelError

from aegis_shared.config import QUALITY_DIMENSIONS


@click.group()
def pipeline() -> None:
    """Preview the cold path's decisions, or explain a stored policy's status."""


def _read_jsonl(path: Path) -> list[Any]:
    from aegis_shared.models import Announcement

    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(Announcement.model_validate_json(line))
        except ModelError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise click.ClickException(
                f"{path}:{number}: not an announcement ({where}: {first['msg']}); nothing was previewed. "
                "Each line must be one Announcement JSON object (source, source_id, title, ...)."
            ) from error
    return items


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@pipeline.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--today",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day (Asia/Seoul) to decide for, YYYY-MM-DD.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def preview(file: Path, today: Any, as_json: bool) -> None:
    """What the cold path would decide for FILE (JSON Lines of announcements) on --today."""
    from aegis_orchestration.pipeline.decisions import preview as run_preview
    from aegis_orchestration.pipeline.lifecycle import Rules
    from aegis_shared.config import get_settings

    result = run_preview(
        _read_jsonl(file),
        today=date.fromisoformat(today.date().isoformat()),
        rules=Rules.from_settings(get_settings()),
    )
    if as_json:
        click.echo(result.to_json())
        return
    click.echo(
        f"as of {result.today.isoformat()} (Asia/Seoul): {len(result.policies)} policies, "
        f"{len(result.rejections)} rejected records; {result.by_status()}"
    )
    header = f"{'policy':32} {'status':9} {'total':>5}  {' '.join(d[:5] for d in QUALITY_DIMENSIONS)}  why"
    click.echo(header)
    for p in result.policies:
        parts = " ".join(f"{getattr(p, d):5.2f}" for d in QUALITY_DIMENSIONS)
        click.echo(f"{_cut(p.policy_id, 32):32} {p.status:9} {p.total:5.2f}  {parts}  {p.status_reason}")
        if len(p.source_ids) > 1:
            click.echo(
                f"{'':32}   sources: {', '.join(p.source_ids)}; regions: {', '.join(p.region_codes) or '-'}"
            )
        for merge in p.merges:
            click.echo(f"{'':32}   {merge.message}")
    for r in result.rejections:
        click.echo(f"rejected {r.source}:{r.source_id} {r.code}: {r.reason}")


@pipeline.command()
@click.argument("policy_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def explain(policy_id: str, as_json: bool) -> None:
    """Why the stored policy POLICY_ID (or the one a source:source_id merged into) has its status."""
    from aegis_orchestration.pipeline.explain import explain as run_explain
    from aegis_shared.database.engine import create_engine

    engine = create_engine()
    try:
        found = run_explain(engine, policy_id)
    finally:
        engine.dispose()
    if found is None:
        raise click.ClickException(f"no policy or source id {policy_id!r} in PostgreSQL")
    if as_json:
        click.echo(json.dumps(found.as_dict(), ensure_ascii=False, indent=2, default=str))
        return
    p = found.policy
    if found.policy_id != policy_id:
        click.echo(f"{policy_id} is part of policy {found.policy_id}")
    click.echo(f"{p['id']}  {p['title']}")
    click.echo(f"  status   {p['status']} (version {p['version']}): {p['status_reason'] or '-'}")
    if p["deleted_at"]:
        click.echo(f"  deleted  {p['deleted_at'].isoformat()} (soft delete; not served)")
    end = (
        p["period_end"].isoformat() if p["period_end"] else ("open-ended" if p["period_open_ended"] else "-")
    )
    start = p["period_start"].isoformat() if p["period_start"] else "-"
    click.echo(f"  period   {start} ~ {end}{' (' + p['period_note'] + ')' if p['period_note'] else ''}")
    click.echo(f"  sources  {', '.join(p['source_ids'])}; regions {', '.join(p['region_codes']) or '-'}")
    if p["closed_by_source"]:
        click.echo("  closed   the source marks applications as closed")
    if found.quality:
        parts = ", ".join(f"{d} {found.quality[d]:.2f}" for d in QUALITY_DIMENSIONS)
        click.echo(f"  quality  {found.quality['total']:.2f} ({parts})")
    if p["staged_content_hash"]:
        click.echo("  staged   a hot-path change waits beside the served version for the cold path")
    click.echo(f"  trail    (from {found.trail_source})")
    for step in found.trail:
        why = "; ".join(step.reasons) or "-"
        if step.event == "PolicySourcesMerged":
            click.echo(f"    {step.at:%Y-%m-%d %H:%M} {step.stage:10} {'+ sources':18} {why}")
            continue
        moved = (
            f"{step.details.get('previous_status') or 'new'} → {step.status}" if step.event else step.status
        )
        click.echo(f"    {step.at:%Y-%m-%d %H:%M} {step.stage:10} {moved:18} {why}")
