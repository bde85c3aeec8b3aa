"""The ``aegis`` console script.

Sub-commands live beside what they operate on and load lazily, so ``aegis devstack`` does not
import Dagster or the schema registry.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
from collections.abc import Callable
from pathlib import Path

import click

from aegis_shared.errors import AegisError

# command name -> "module:attribute" of a click command
_LAZY_COMMANDS = {
    "events": "aegis_shared.events.cli:events",
    "schema": "aegis_shared.database.cli:schema",
    "sources": "aegis_orchestration.sources.cli:sources",
    "hot-path": "aegis_orchestration.hot_path.cli:hot_path",
    "pipeline": "aegis_orchestration.pipeline.cli:pipeline",
    "dlq": "aegis_shared.messaging.cli:dlq",
}


class _LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        # A coded error no sub-command handled is one line with its code and what to do, not a
        # traceback.
        try:
            return super().invoke(ctx)
        except AegisError as exc:
            click.echo(f"error {exc.operator_text()}", err=True)
            ctx.exit(2)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS:
            module_name, attr = _LAZY_COMMANDS[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup)
def main() -> None:
    """Aegis data platform: local stack, schemas, sources and the hot path."""
    from aegis_orchestration.log_setup import configure_entry_point_logging

    configure_entry_point_logging("aegis-cli", interactive=True)


def _default_root() -> Path:
    return Path(os.environ.get("AEGIS_DATA_DIR", ".aegis"))


_root_option = click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=_default_root,
    show_default="$AEGIS_DATA_DIR or .aegis",
    help="Directory holding the stack's data, logs and state.",
)


@main.group()
def devstack() -> None:
    """Start, inspect and stop the local stack: PostgreSQL, Kafka, Neo4j, OpenSearch, Redis,
    Prometheus, and the replay server of the bundled snapshot."""


_PORT_FLAGS = {
    "postgres": 55432,
    "kafka": 59092,
    "kafka_controller": 59093,
    "redis": 56379,
    "neo4j": 57687,
    "opensearch": 59200,
    "opensearch_transport": 59300,
    "milvus": 59530,
    "prometheus": 59090,
    "pushgateway": 59091,
    "hot_path_metrics": 59464,
    "replay": 58088,
}


def _port_options(command: Callable[..., None]) -> Callable[..., None]:
    for name, default in reversed(_PORT_FLAGS.items()):
        flag = "--" + name.replace("_", "-") + "-port"
        command = click.option(
            flag,
            f"{name}_port",
            type=int,
            default=None,
            help=f"Default $AEGIS_DEVSTACK_{name.upper()}_PORT or {default}.",
        )(command)
    return command


@devstack.command()
@_root_option
@_port_options
@click.option(
    "--lite",
    is_flag=True,
    help="Leave out Neo4j and OpenSearch: FalkorDB and tantivy serve graph and search.",
)
@click.option(
    "--milvus-server",
    is_flag=True,
    help="Also start a Milvus standalone server (Milvus Lite stays the default).",
)
@click.option(
    "--metrics/--no-metrics",
    default=None,
    help="Start Prometheus and the Pushgateway for the pipeline metrics (default: on).",
)
@click.option(
    "--replay/--no-replay",
    default=True,
    show_default=True,
    help="Serve the bundled snapshot and point every source at it (no keys needed); "
    "--no-replay leaves the sources to the AEGIS_*_BASE_URL and key settings.",
)
def up(
    root: Path,
    lite: bool,
    milvus_server: bool,
    metrics: bool | None,
    replay: bool,
    **port_flags: int | None,
) -> None:
    """Start every server (idempotent, in parallel) and wait until each answers."""
    import time

    from aegis_orchestration.devstack import DevStack, Ports

    ports = None
    if any(port_flags.values()):
        base = Ports.from_env()
        ports = Ports(**{name: port_flags[f"{name}_port"] or getattr(base, name) for name in _PORT_FLAGS})
    started = time.monotonic()
    stack = DevStack(
        root, ports, lite=lite or None, milvus_server=milvus_server or None, metrics=metrics, replay=replay
    ).up()
    for name, info in stack.status().items():
        click.echo(f"{name:11} 127.0.0.1:{info['port']:<6} pid {info['pid']}  healthy={info['healthy']}")
    click.echo(f"up in {time.monotonic() - started:.1f}s")
    click.echo(f"Run `eval $(aegis devstack env --root {root})` to point other shells at this stack.")


@devstack.command()
def fetch() -> None:
    """Fetch the JVM servers' jars with Maven into the cache (once; `up` would do it too)."""
    from aegis_orchestration.devstack import maven
    from aegis_orchestration.devstack.jvm_servers import OpenSearchServer

    for profile in ("kafka", "neo4j", "opensearch", "ecj"):
        click.echo(f"{profile:10} {maven.classpath(profile)}")
    click.echo(f"{'launcher':10} {OpenSearchServer.launcher()}")


@devstack.command()
@_root_option
def down(root: Path) -> None:
    """Stop exactly the processes `up` started from this root."""
    from aegis_orchestration.devstack import DevStack

    DevStack(root).down()
    click.echo("devstack stopped")


@devstack.command()
@_root_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(root: Path, as_json: bool) -> None:
    """Show each server's port, pid and health; exit 1 if any is down."""
    from aegis_orchestration.devstack import DevStack

    info = DevStack(root).status()
    if as_json:
        click.echo(json.dumps(info))
    else:
        for name, item in info.items():
            click.echo(f"{name:11} 127.0.0.1:{item['port']:<6} pid {item['pid']}  healthy={item['healthy']}")
    if not all(item["healthy"] for item in info.values()):
        raise SystemExit(1)


@devstack.command()
@_root_option
def env(root: Path) -> None:
    """Print `export AEGIS_...=...` lines for this stack (use with eval)."""
    from aegis_orchestration.devstack import DevStack

    for key, value in DevStack(root).env().items():
        click.echo(f"export {key}={shlex.quote(value)}")


@main.command()
@click.option(
    "--day",
    default=None,
    help="As-of day (YYYY-MM-DD, Asia/Seoul) the snapshot is anchored to; default today.",
)
@click.option("--days", default=14, show_default=True, help="Collection days before the as-of day.")
def demo(day: str | None, days: int) -> None:
    """Collect the bundled snapshot over HTTP, materialize every asset, print a summary."""
    from aegis_orchestration import demo as local_run

    summary = local_run.run(day, days=days)
    click.echo(summary.render())
    click.echo(
        "\nOpen the Dagster UI with `make dev`, then http://127.0.0.1:3000 (runs above are in its history)."
    )
    if not summary.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
