"""``collection_sensor``: one ``hot_path_job`` run per new offset range of the collection topic.

The sensor owns its offsets: they live in its Dagster cursor, never in a consumer-group commit,
so a range is only "done" once Dagster has its run request (keyed per topic, partition and range,
so a repeated tick cannot launch it twice). Each tick polls from the cursor for a bounded time
and count (well under Dagster's 60 s tick limit) and advances the cursor exactly over the ranges
it requested. High watermarks are never needed: the ranges end on records actually received.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import dagster as dg

from aegis_orchestration.hot_path.assets import OffsetRangeConfig
from aegis_orchestration.hot_path.job import hot_path_job
from aegis_orchestration.hot_path.offsets import OffsetRange, discover
from aegis_orchestration.resources import KafkaResource

CURSOR_VERSION = 1


def parse_cursor(raw: str | None, topic: str) -> dict[int, int]:
    """partition → next offset from the cursor; empty for no cursor or another topic's cursor."""
    if not raw:
        return {}
    state = json.loads(raw)
    if state.get("v") != CURSOR_VERSION or state.get("topic") != topic:
        return {}
    return {int(partition): int(offset) for partition, offset in state["next"].items()}


def render_cursor(topic: str, next_offsets: Mapping[int, int]) -> str:
    return json.dumps(
        {"v": CURSOR_VERSION, "topic": topic, "next": {str(p): o for p, o in sorted(next_offsets.items())}},
        sort_keys=True,
    )


def run_request(offsets: OffsetRange) -> dg.RunRequest:
    """The run for one range: its key names the range, its config carries only the range."""
    return dg.RunRequest(
        run_key=offsets.run_key,
        run_config=dg.RunConfig(ops={"staged_policies": OffsetRangeConfig.of(offsets)}),
        tags={
            "aegis/topic": offsets.topic,
            "aegis/partition": str(offsets.partition),
            "aegis/offset_range": f"{offsets.start}-{offsets.end}",
        },
    )


def build_collection_sensor(
    *,
    name: str = "collection_sensor",
    minimum_interval_seconds: int = 5,
    max_records: int = 5000,
    max_range: int = 1000,
    poll_seconds: float = 5.0,
    idle_seconds: float = 0.5,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """A collection sensor with its own polling bounds (tests and benchmarks tighten them)."""

    @dg.sensor(
        name=name,
        job=hot_path_job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description="Requests a hot_path_job run per new offset range of {env}.aegis.collection.v1; "
        "offsets live in this sensor's cursor.",
    )
    def _collection_sensor(context: dg.SensorEvaluationContext, kafka: KafkaResource) -> dg.SensorResult:
        settings = kafka.settings()
        topic = settings.topic("collection")
        cursor = parse_cursor(context.cursor, topic)
        found = discover(
            settings.kafka_bootstrap,
            topic,
            cursor,
            max_records=max_records,
            max_range=max_range,
            poll_seconds=poll_seconds,
            idle_seconds=idle_seconds,
        )
        if not found.ranges:
            reason = f"no new records on {topic}" if found.partitions else f"topic {topic} does not exist yet"
            return dg.SensorResult(skip_reason=dg.SkipReason(reason))
        context.log.info(f"{found.records_seen} new record(s) on {topic}: {len(found.ranges)} range(s)")
        return dg.SensorResult(
            run_requests=[run_request(r) for r in found.ranges],
            cursor=render_cursor(topic, found.next_offsets),
        )

    return _collection_sensor


collection_sensor = build_collection_sensor()
