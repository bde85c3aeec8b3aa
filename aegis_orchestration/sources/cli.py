"""``aegis sources``: serve the offline snapshot over HTTP for ``make run`` and demos."""

from __future__ import annotations

import click

from aegis_orchestration.sources.replay import ReplayServer


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
def serve(port: int, keys: tuple[str, ...], failures: tuple[str, ...]) -> None:
    """Replay the bundled snapshot under the real APIs' paths until interrupted."""
    server = ReplayServer(port=port, valid_keys=set(keys) if keys else None)
    for failure in failures:
        source, _, fault = failure.partition("=")
        server.fail_always(source, fault)
    click.echo(f"replaying the snapshot on {server.base_url}", err=True)
    click.echo(
        f"AEGIS_BIZINFO_BASE_URL={server.base_url} AEGIS_DATA_PORTAL_BASE_URL={server.base_url} "
        f"AEGIS_RSS_BASE_URL={server.base_url} AEGIS_WEB_BASE_URL={server.base_url}"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
