"""``staged_policies``: collected announcements the hot path staged as ``pending_validation``.

One materialization per offset range (a Dagster run from ``collection_sensor``) or per batch
(``aegis hot-path serve`` reports it runless), so the lineage graph shows the hot path whichever
shape ran it: ``raw_announcements`` → Kafka → ``staged_policies`` → the cold path.
"""

import time

import dagster as dg
from pydantic import Field

from aegis_orchestration.hot_path.offsets import OffsetRange, read_range
from aegis_orchestration.hot_path.processor import HotPathProcessor
from aegis_orchestration.resources import KafkaResource, MetricsResource, PostgresResource

ASSET_KEY = dg.AssetKey("staged_policies")
GROUP_NAME = "hot_path"
# Generous: a Dagster run already takes seconds to start; a range that is not readable in this
# time means the broker is unwell, and the run fails with DP_4001 having written nothing.
READ_TIMEOUT_SECONDS = 60.0


class OffsetRangeConfig(dg.Config):
    """The only run configuration of the hot-path job: one half-open offset range."""

    topic: str = Field(description="The collection topic, {env}.aegis.collection.v1.")
    partition: int = Field(ge=0)
    start_offset: int = Field(ge=0, description="First offset to read.")
    end_offset: int = Field(ge=1, description="One past the last offset to read.")

    def to_range(self) -> OffsetRange:
        return OffsetRange(self.topic, self.partition, self.start_offset, self.end_offset)

    @classmethod
    def of(cls, offsets: OffsetRange) -> "OffsetRangeConfig":
        return cls(
            topic=offsets.topic,
            partition=offsets.partition,
            start_offset=offsets.start,
            end_offset=offsets.end,
        )


@dg.asset(
    key=ASSET_KEY,
    group_name=GROUP_NAME,
    deps=[dg.AssetKey("raw_announcements")],
    kinds={"kafka", "postgres", "python"},
    description="Collected announcements validated by the hot path and staged as pending_validation "
    "(one offset range per run, or one batch of `aegis hot-path serve`).",
)
def staged_policies(
    context: dg.AssetExecutionContext,
    config: OffsetRangeConfig,
    postgres: PostgresResource,
    kafka: KafkaResource,
    metrics: MetricsResource,
) -> dg.MaterializeResult:
    offsets = config.to_range()
    settings = kafka.settings()
    started = time.perf_counter()
    records = read_range(settings.kafka_bootstrap, offsets, timeout=READ_TIMEOUT_SECONDS)
    with HotPathProcessor(postgres.engine(), settings) as processor:
        result = processor.process(records)
    report = result.stage
    with metrics.run() as recorded:
        ok, refused = len(records) - report.dead_lettered, report.dead_lettered
        recorded.count("aegis_pipeline_processing_total", ok, path="hot", status="success")
        recorded.count("aegis_pipeline_processing_total", refused, path="hot", status="error")
        recorded.observe(
            "aegis_pipeline_processing_latency_seconds", time.perf_counter() - started, path="hot"
        )
        stamps = [r.timestamp_ms for r in records if r.timestamp_ms]
        if stamps:
            lag = max(0.0, time.time() - min(stamps) / 1000)
            recorded.set("aegis_pipeline_lag_seconds", lag, path="hot")
    for code, count in sorted(report.dlq_by_code.items()):
        context.log.warning(f"{count} record(s) of {offsets.run_key} sent to the DLQ with {code}")
    return dg.MaterializeResult(
        metadata={
            "path": "dagster_run",
            "topic": offsets.topic,
            "partition": offsets.partition,
            "offset_range": f"[{offsets.start}, {offsets.end})",
            **result.as_metadata(),
        }
    )
