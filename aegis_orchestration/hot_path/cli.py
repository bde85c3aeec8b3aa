"""``aegis hot-path``: run the hot path as a service, or flush its outbox by hand."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from aegis_shared.monitoring.pipeline_metrics import LiveMetrics


@click.group("hot-path")
def hot_path() -> None:
    """The hot path outside Dagster runs: the sub-second consumer service and the outbox relay."""


@hot_path.command()
@click.option("--group-id", default="aegis-hot-path", show_default=True, help="Kafka consumer group.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--poll-timeout",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0.01, 10.0),
    help="Seconds one poll waits for the first record of a batch.",
)
@click.option(
    "--report/--no-report",
    default=None,
    help="Report each batch to Dagster as a runless materialization (default: when DAGSTER_HOME is set).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Expose the pipeline metrics on http://0.0.0.0:PORT/metrics (default $AEGIS_METRICS_PORT; "
    "unset or 0: not exposed).",
)
@click.option("--max-batches", type=int, default=None, help="Stop after this many batches (for smoke tests).")
@click.option("--idle-timeout", type=float, default=None, help="Stop after this many idle seconds.")
@click.option(
    "--session-timeout-ms",
    type=click.IntRange(1000, 300_000),
    default=45_000,
    show_default=True,
    help="Consumer-group session timeout (how long a dead instance keeps its partitions).",
)
def serve(
    group_id: str,
    batch_size: int,
    poll_timeout: float,
    report: bool | None,
    metrics_port: int | None,
    max_batches: int | None,
    idle_timeout: float | None,
    session_timeout_ms: int,
) -> None:
    """Consume {env}.aegis.collection.v1 and stage each batch; stops cleanly on SIGTERM/SIGINT."""
    from aegis_orchestration.hot_path.processor import HotPathProcessor
    from aegis_orchestration.hot_path.service import HotPathService, dagster_reporter
    from aegis_orchestration.log_setup import configure_entry_point_logging
    from aegis_orchestration.resources import PostgresResource
    from aegis_shared.config import get_settings

    # A long-lived service: INFO lines as JSON (redacted), whichever group invoked it.
    configure_entry_point_logging("aegis-hot-path")
    settings = get_settings()
    reporter = None
    if report or (report is None and os.environ.get("DAGSTER_HOME")):
        from dagster import DagsterInstance

        reporter = dagster_reporter(DagsterInstance.get())
    engine = PostgresResource().engine()
    metrics = _serve_metrics(metrics_port if metrics_port is not None else settings.metrics_port)
    with (
        HotPathProcessor(engine, settings) as processor,
        HotPathService(
            processor,
            group_id=group_id,
            batch_size=batch_size,
            poll_timeout=poll_timeout,
            reporter=reporter,
            config={
                "session.timeout.ms": session_timeout_ms,
                "heartbeat.interval.ms": max(500, session_timeout_ms // 6),
            },
            metrics=metrics,
        ) as service,
    ):
        # Whatever an earlier crash left in the outbox goes out before new work.
        leftover = processor.publish()
        click.echo(
            f"hot-path serve: topic {service.topic}, group {group_id}; "
            f"{leftover} leftover outbox message(s) published",
            err=True,
        )
        stats = service.run(max_batches=max_batches, idle_timeout=idle_timeout, install_signal_handlers=True)
    click.echo(
        f"hot-path serve stopped: {stats.batches} batch(es), {stats.records} record(s), "
        f"{stats.written} row(s) written, {stats.dead_lettered} sent to the DLQ",
        err=True,
    )


def _serve_metrics(port: int | None) -> LiveMetrics | None:
    """The pipeline metrics on ``/metrics`` at ``port``; a port in use costs the endpoint, not the service."""
    if not port:
        return None
    from prometheus_client import start_http_server

    from aegis_shared.monitoring.pipeline_metrics import LiveMetrics

    metrics = LiveMetrics()
    try:
        start_http_server(port, registry=metrics.registry)
    except OSError as exc:
        click.echo(f"hot-path serve: /metrics not exposed, port {port}: {exc.strerror}", err=True)
        return None
    click.echo(f"hot-path serve: metrics on http://0.0.0.0:{port}/metrics", err=True)
    return metrics


@hot_path.command()
def relay() -> None:
    """Publish every unpublished outbox entry once (what every run and batch also does)."""
    from aegis_orchestration.resources import KafkaResource, PostgresResource

    # The same call every asset makes: every event topic is ensured, then one relay pass.
    published = KafkaResource().relay_outbox(PostgresResource().engine())
    click.echo(f"{published} outbox message(s) published")
