"""Offset ranges of one topic partition: finding new ones (the sensor) and reading one exactly (the job).

Neither side uses consumer-group commits or high watermarks (the ranges are defined by the records
actually received, which also holds on brokers whose watermarks lag or skip transaction markers).
Instead:

* :func:`discover` assigns every partition at the cursor's next offset and polls for a bounded
  time and count; what it actually receives defines the new ranges, each ending on an offset
  that really exists;
* :func:`read_range` assigns one partition at ``start`` and reads until it has passed
  ``end - 1`` (ranges are half-open, ``[start, end)``), never beyond.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from aegis_orchestration.hot_path.intake import SourceRecord
from aegis_shared.errors import ExternalServiceError, PipelineError, ValidationError

# Low fetch waits: the broker answers as soon as it has data, which is what a latency path wants.
_READER_CONFIG: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "fetch.wait.max.ms": 50,
    "enable.partition.eof": False,
}


@dataclass(frozen=True, slots=True, order=True)
class OffsetRange:
    """``[start, end)`` of one partition; ``end`` is one past the last offset to read."""

    topic: str
    partition: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.partition < 0 or self.start < 0 or self.end <= self.start:
            raise ValidationError(
                "VALID_3004",
                f"invalid offset range {self.partition}:[{self.start}, {self.end})",
                details={"partition": self.partition, "start": self.start, "end": self.end},
            )

    @property
    def run_key(self) -> str:
        """Unique per topic, partition and range, so Dagster never launches the same range twice."""
        return f"{self.topic}:{self.partition}:{self.start}-{self.end}"

    @property
    def size(self) -> int:
        """Offsets spanned; the records read may be fewer if the log has gaps."""
        return self.end - self.start


def _consumer(bootstrap: str, config: Mapping[str, Any] | None) -> Consumer:
    # librdkafka wants a group id even for assign(); nothing is ever committed to it.
    return Consumer(
        {
            **_READER_CONFIG,
            **(config or {}),
            "bootstrap.servers": bootstrap,
            "group.id": f"aegis-hot-path-reader-{uuid.uuid4().hex[:8]}",
        }
    )


def _raise_if_fatal(error: KafkaError) -> None:
    if error.fatal() or error.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
        raise ExternalServiceError("EXT_5005", f"Kafka read failed: {error}")


def read_range(
    bootstrap: str,
    offsets: OffsetRange,
    *,
    timeout: float = 30.0,
    config: Mapping[str, Any] | None = None,
) -> list[SourceRecord]:
    """Every record of ``offsets`` in order. DP_4001 if the range cannot be read within ``timeout``."""
    consumer = _consumer(bootstrap, config)
    records: list[SourceRecord] = []
    deadline = time.monotonic() + timeout
    last = offsets.end - 1
    try:
        consumer.assign([TopicPartition(offsets.topic, offsets.partition, offsets.start)])
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                seen = records[-1].offset if records else None
                raise PipelineError(
                    "DP_4001",
                    f"range {offsets.run_key} not fully readable in {timeout}s (last offset seen {seen})",
                    details={"run_key": offsets.run_key, "read": len(records), "last_seen": seen},
                )
            for message in consumer.consume(num_messages=min(500, offsets.size), timeout=min(left, 0.5)):
                if message.error() is not None:
                    _raise_if_fatal(message.error())
                    continue
                offset = message.offset()
                if offset < offsets.start:
                    continue
                if offset > last:
                    return records
                records.append(SourceRecord.from_message(message))
                if offset == last:
                    return records
    except KafkaException as exc:
        raise ExternalServiceError("EXT_5005", f"Kafka read failed: {exc}") from exc
    finally:
        consumer.close()


@dataclass(frozen=True, slots=True)
class Discovery:
    """What one bounded poll found: the new ranges, and the cursor after requesting all of them."""

    ranges: list[OffsetRange]
    next_offsets: dict[int, int]
    records_seen: int
    partitions: int


def partition_count(bootstrap: str, topic: str, *, timeout: float = 10.0) -> int:
    """How many partitions ``topic`` has (0 if it does not exist yet). Metadata, not watermarks."""
    consumer = _consumer(bootstrap, None)
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
    except KafkaException as exc:
        raise ExternalServiceError("EXT_5005", f"cannot reach Kafka: {exc}") from exc
    finally:
        consumer.close()
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        return 0
    return len(found.partitions)


def discover(
    bootstrap: str,
    topic: str,
    next_offsets: Mapping[int, int],
    *,
    max_records: int = 5000,
    max_range: int = 1000,
    poll_seconds: float = 5.0,
    idle_seconds: float = 0.5,
    first_wait_seconds: float = 2.0,
    config: Mapping[str, Any] | None = None,
) -> Discovery:
    """Poll ``topic`` from ``next_offsets`` (partition → next offset; absent = earliest).

    Stops at ``max_records``, after ``poll_seconds``, or when nothing arrived for ``idle_seconds``
    (``first_wait_seconds`` before the first message, which covers connecting). Each partition's
    received offsets become consecutive ranges of at most ``max_range`` records; the first starts
    at the cursor's offset so a gap in the log is still covered by some range.
    """
    partitions = partition_count(bootstrap, topic)
    cursor = dict(next_offsets)
    if partitions == 0:
        return Discovery([], cursor, 0, 0)
    seen: dict[int, list[int]] = {}
    consumer = _consumer(bootstrap, config)
    count = 0
    try:
        consumer.assign(
            [TopicPartition(topic, p, cursor.get(p, OFFSET_BEGINNING)) for p in range(partitions)]
        )
        started = last_message = time.monotonic()
        while count < max_records:
            now = time.monotonic()
            if now - started >= poll_seconds:
                break
            if now - last_message >= (idle_seconds if count else first_wait_seconds):
                break
            batch = consumer.consume(num_messages=min(500, max_records - count), timeout=0.1)
            for message in batch:
                if message.error() is not None:
                    _raise_if_fatal(message.error())
                    continue
                if message.offset() < cursor.get(message.partition(), 0):
                    continue
                seen.setdefault(message.partition(), []).append(message.offset())
                count += 1
            if batch:
                last_message = time.monotonic()
    except KafkaException as exc:
        raise ExternalServiceError("EXT_5005", f"Kafka poll failed: {exc}") from exc
    finally:
        consumer.close()
    ranges: list[OffsetRange] = []
    for partition, offsets in sorted(seen.items()):
        offsets.sort()
        start = cursor.get(partition, offsets[0])
        for i in range(0, len(offsets), max_range):
            chunk = offsets[i : i + max_range]
            ranges.append(OffsetRange(topic, partition, start, chunk[-1] + 1))
            start = chunk[-1] + 1
        cursor[partition] = start
    return Discovery(ranges, cursor, count, partitions)
