"""``aegis dlq list|show|replay``: look into the dead-letter topic and send letters back, once.

Bad arguments and missing topics or letters end with one ``error [CODE] message`` line and exit
status 2, before anything is read or sent. Payloads are shown with e-mails, phone numbers and
credentials masked: the DLQ keeps original bytes, a terminal need not.
"""

from __future__ import annotations

import json
from typing import Any

import click

from aegis_shared.errors.cli import coded_errors
from aegis_shared.messaging.dlq import (
    DeadLetter,
    DeadLetterFilter,
    get_dead_letter,
    parse_codes,
    parse_since,
    read_dead_letters,
    replay_dead_letters,
    replayed_ids,
)

_coded_errors = coded_errors(exit_status=2)


def _settings() -> Any:
    from aegis_shared.config import get_settings

    return get_settings()


def _engine() -> Any:
    import sqlalchemy as sa

    from aegis_shared.database import apply_registry

    engine = sa.create_engine(_settings().postgres_url.get_secret_value(), pool_pre_ping=True)
    apply_registry(engine)  # creates dlq_replays on first use
    return engine


def _filter(topic: str | None, since: str | None, codes: tuple[str, ...]) -> DeadLetterFilter:
    return DeadLetterFilter(
        original_topic=topic or None,
        since=parse_since(since) if since else None,
        codes=parse_codes(codes),
    )


_dlq_topic = click.option(
    "--dlq-topic",
    default=None,
    help="Dead-letter topic to read (default: {env}.aegis.dlq.v1 from AEGIS_ENV).",
)
_since = click.option(
    "--since",
    default=None,
    help="Only letters written since: a duration (30m, 6h, 2d, 1w) or an ISO date/time.",
)
_code = click.option("--code", "codes", multiple=True, help="Only letters with this error code (repeatable).")


def _masked(raw: bytes | None, limit: int) -> str:
    from aegis_shared.logging.redaction import mask_text

    if raw is None:
        return "(none)"
    text = raw[:limit].decode("utf-8", "replace")
    more = f" … ({len(raw) - limit} more bytes)" if len(raw) > limit else ""
    return mask_text(text) + more


@click.group("dlq")
def dlq() -> None:
    """Dead letters: list them, show one, replay them to their original topic (never twice)."""


@dlq.command("list")
@click.option("--topic", default=None, help="Only letters whose original topic is this.")
@_since
@_code
@_dlq_topic
@click.option("--json", "as_json", is_flag=True, help="One JSON object per letter.")
@_coded_errors
def list_(
    topic: str | None, since: str | None, codes: tuple[str, ...], dlq_topic: str | None, as_json: bool
) -> None:
    """One line per dead letter: id, time (UTC), code, origin, replay status, reason."""
    settings = _settings()
    dlq_name = dlq_topic or settings.topic("dlq")
    letters = read_dead_letters(settings.kafka_bootstrap, dlq_name, _filter(topic, since, codes))
    try:
        ledger = replayed_ids(_engine(), [x.replay_id for x in letters])
    except Exception as exc:  # listing still works without PostgreSQL; the status is then unknown
        click.echo(f"warning: replay status unknown, PostgreSQL unreachable ({type(exc).__name__})", err=True)
        ledger = None
    for letter in letters:
        status = "?" if ledger is None else ledger.get(letter.replay_id, "-")
        if as_json:
            click.echo(json.dumps(_as_dict(letter) | {"replay": status}, ensure_ascii=False))
        else:
            click.echo(
                f"{letter.id:>8}  {letter.timestamp:%Y-%m-%d %H:%M:%S}  {letter.code:9}  {status:7}  "
                f"{letter.origin}  {_masked(letter.reason.encode(), 80)}"
            )
    if not as_json:
        click.echo(f"{len(letters)} dead letter(s) in {dlq_name}", err=True)


def _as_dict(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "timestamp": letter.timestamp.isoformat(),
        "code": letter.code,
        "reason": letter.reason,
        "original_topic": letter.original_topic,
        "origin": letter.origin,
    }


@dlq.command()
@click.argument("letter_id", metavar="ID")
@_dlq_topic
@click.option("--max-bytes", default=4000, show_default=True, type=click.IntRange(16), help="Payload shown.")
@_coded_errors
def show(letter_id: str, dlq_topic: str | None, max_bytes: int) -> None:
    """Everything about one dead letter (ID is PARTITION:OFFSET from `aegis dlq list`)."""
    settings = _settings()
    letter = get_dead_letter(settings.kafka_bootstrap, dlq_topic or settings.topic("dlq"), letter_id)
    click.echo(f"id        {letter.id} in {letter.dlq_topic}")
    click.echo(f"written   {letter.timestamp.isoformat()}")
    click.echo(f"code      {letter.code}")
    click.echo(f"origin    {letter.origin}")
    click.echo(f"key       {_masked(letter.key, 200)}")
    click.echo("headers")
    for key, value in letter.headers:
        click.echo(f"  {key}: {_masked(value, 300)}")
    click.echo("payload")
    click.echo(_masked(letter.value, max_bytes))


@dlq.command()
@click.option("--topic", required=True, help="The original topic whose dead letters are replayed.")
@_since
@_code
@_dlq_topic
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; send nothing, record nothing.")
@_coded_errors
def replay(
    topic: str, since: str | None, codes: tuple[str, ...], dlq_topic: str | None, dry_run: bool
) -> None:
    """Send matching dead letters back to TOPIC with an aegis-replay-id header, each at most once."""
    settings = _settings()
    selection = _filter(topic, since, codes)
    report = replay_dead_letters(
        _engine(), settings.kafka_bootstrap, dlq_topic or settings.topic("dlq"), selection, dry_run=dry_run
    )
    for item in report.items:
        where = f" -> {item.target}@{item.target_offset}" if item.target_offset is not None else ""
        click.echo(f"{item.letter.id:>8}  {item.letter.code:9}  {item.outcome}{where}")
    click.echo(report.summary())
