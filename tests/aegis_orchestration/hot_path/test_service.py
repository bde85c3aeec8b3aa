"""``aegis hot-path serve`` against the real broker, PostgreSQL and a Dagster instance."""

from __future__ import annotations

import dagster as dg
from click.testing import CliRunner

from aegis_orchestration.hot_path.cli import hot_path
from aegis_orchestration.hot_path.processor import HotPathProcessor
from aegis_orchestration.hot_path.service import HotPathService, dagster_reporter
from aegis_shared.config import Settings
from tests.aegis_orchestration.hot_path.helpers import (
    Database,
    announcement,
    bad_messages,
    policy_rows,
    produce_raw,
    publish_collected,
    read_dlq,
    read_events,
)
from tests.aegis_shared.messaging.kafka_helpers import FAST_GROUP


def _service(processor: HotPathProcessor, reporter: object = None) -> HotPathService:
    return HotPathService(
        processor,
        group_id="hp-serve",
        batch_size=200,
        reporter=reporter,  # type: ignore[arg-type]
        config=FAST_GROUP,
    )


def test_serve_stages_batches_commits_and_reports_runless_materializations(
    hp_settings: Settings, db: Database
) -> None:
    items = [announcement(i) for i in range(300)]
    bad = bad_messages(hp_settings)
    publish_collected(hp_settings, items)
    produce_raw(hp_settings, [(value, key) for value, key, _ in bad])
    with dg.instance_for_test() as instance:
        with HotPathProcessor(db.engine, hp_settings) as processor:
            with _service(processor, dagster_reporter(instance)) as service:
                stats = service.run(idle_timeout=8, timeout=90)
            assert stats.records == 306 and stats.written == 300 and stats.dead_lettered == 6
            assert stats.report_failures == 0
            # A restart in the same group finds every offset committed: nothing is processed again.
            with _service(processor) as again:
                assert again.run(idle_timeout=8, timeout=30).records == 0
        records = instance.fetch_materializations(dg.AssetKey("staged_policies"), limit=100).records
        assert len(records) == stats.batches >= 1
        reported = [r.asset_materialization.metadata for r in records]
        assert sum(m["records"].value for m in reported) == 306
        assert all(m["path"].value == "serve" for m in reported)
    assert len(policy_rows(db.engine)) == 300
    assert len(read_events(hp_settings, 300)) == 300
    assert sorted(m.value() for m in read_dlq(hp_settings, 6)) == sorted(v for v, _, _ in bad)


def test_the_serve_command_runs_and_stops_when_idle(hp_settings: Settings, db: Database, monkeypatch) -> None:
    from aegis_shared.config import get_settings

    publish_collected(hp_settings, [announcement(i) for i in range(10)])
    monkeypatch.setenv("AEGIS_ENV", hp_settings.env)
    monkeypatch.setenv("AEGIS_POSTGRES_URL", db.url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            hot_path,
            [
                "serve",
                "--group-id",
                "hp-cli",
                "--idle-timeout",
                "10",
                "--session-timeout-ms",
                "6000",
                "--no-report",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "10 record(s), 10 row(s) written, 0 sent to the DLQ" in result.output
    assert len(policy_rows(db.engine)) == 10


def test_serve_exposes_the_pipeline_metrics_on_its_metrics_port(
    hp_settings: Settings, db: Database, monkeypatch
) -> None:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from aegis_orchestration.devstack.process import free_port
    from aegis_shared.config import get_settings

    items = [announcement(i) for i in range(12)]
    bad = bad_messages(hp_settings)
    publish_collected(hp_settings, items)
    produce_raw(hp_settings, [(value, key) for value, key, _ in bad])
    port = free_port()
    monkeypatch.setenv("AEGIS_ENV", hp_settings.env)
    monkeypatch.setenv("AEGIS_POSTGRES_URL", db.url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            hot_path,
            ["serve", "--group-id", "hp-metrics", "--idle-timeout", "10", "--session-timeout-ms", "6000",
             "--no-report", "--metrics-port", str(port)],
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    # The endpoint outlives the consumer loop in this process; Prometheus would scrape it the same way.
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    hot = (("path", "hot"),)
    assert samples[("aegis_pipeline_processing_total", (*hot, ("status", "success")))] == len(items)
    assert samples[("aegis_pipeline_processing_total", (*hot, ("status", "error")))] == len(bad)
    assert samples[("aegis_pipeline_processing_latency_seconds_count", hot)] >= 1
    assert samples[("aegis_pipeline_lag_seconds", hot)] > 0
