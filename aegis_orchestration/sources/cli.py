"""``aegis sources``: serve the offline snapshot over HTTP for ``make run`` and demos."""

from __future__ import annotations

from datetime import date

import click

from aegis_orchestration.sources.registry import base_url_settings
from aegis_orchestration.sources.replay import ReplayServer
from aegis_shared.config import variable_name


@click.group("sources")
def sources() -> None:
    """Public announcement sources."""


@sources.command("serve")
@click.option(
    "--port", type=int, default=0, show_default=True, help="Port on 127.0.0.1 (0 picks a free one)."
)
@click.option(
    "--key", "keys", multiple=True, help="Accept only these keys (repeatable); default accepts any."
)
@click.option("--fail", "failures", multiple=True, metavar="SOURCE=FAULT", help="Make a source always fail.")
@click.option(
    "--anchor",
    default="today",
    show_default=True,
    metavar="YYYY-MM-DD|today|none",
    help="Shift every date so the newest registration/update is the day before this one "
    "(Asia/Seoul); 'none' serves the snapshot's own dates.",
)
def serve(port: int, keys: tuple[str, ...], failures: tuple[str, ...], anchor: str) -> None:
    """Replay the bundled snapshot under the real APIs' paths until interrupted."""
    from aegis_orchestration.sources.snapshot import snapshot_window

    day: date | None
    if anchor.lower() == "none":
        day = None
    elif anchor.lower() == "today":
        from aegis_orchestration.sources.snapshot import today_in_seoul

        day = today_in_seoul()
    else:
        try:
            day = date.fromisoformat(anchor)
        except ValueError as exc:
            raise click.BadParameter(f"{anchor!r} is not YYYY-MM-DD, 'today' or 'none'") from exc
    server = ReplayServer(port=port, valid_keys=set(keys) if keys else None, anchor=day)
    for failure in failures:
        source, _, fault = failure.partition("=")
        server.fail_always(source, fault)
    first, last = snapshot_window(day)
    click.echo(
        f"replaying the snapshot on {server.base_url}, anchored to {day or 'its own dates'}: "
        f"data from {first} to {last}",
        err=True,
    )
    click.echo(" ".join(f"{variable_name(name)}={server.base_url}" for name in base_url_settings()))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
