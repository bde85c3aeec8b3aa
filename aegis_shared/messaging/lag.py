"""Consumer lag from the broker's own numbers: committed offsets against high watermarks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aegis_shared._extras import require_extra

require_extra("kafka", "aegis_shared.messaging.lag")

from confluent_kafka import Consumer, TopicPartition

from aegis_shared.errors import ExternalServiceError


def consumer_lag(
    bootstrap: str, group_id: str, topics: Sequence[str], *, timeout: float = 10.0
) -> dict[tuple[str, int], int]:
    """Records each partition of ``topics`` still holds for ``group_id``, keyed (topic, partition).

    Lag is the high watermark minus the group's committed offset; a partition the group never
    committed counts from its low watermark (everything still there is unread). The group is
    only read, never joined: this consumer does not subscribe, so it cannot trigger a rebalance.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group_id,
            "enable.auto.commit": False,
            "client.id": f"aegis-lag-{uuid.uuid4().hex[:8]}",
        }
    )
    try:
        metadata = consumer.list_topics(timeout=timeout)
        partitions = []
        for topic in topics:
            if topic not in metadata.topics or metadata.topics[topic].error is not None:
                raise ExternalServiceError(
                    "EXT_5005", f"topic {topic!r} does not exist", details={"topic": topic}
                )
            partitions += [TopicPartition(topic, p) for p in sorted(metadata.topics[topic].partitions)]
        lag: dict[tuple[str, int], int] = {}
        for committed in consumer.committed(partitions, timeout=timeout):
            low, high = consumer.get_watermark_offsets(committed, timeout=timeout, cached=False)
            position = committed.offset if committed.offset >= 0 else low
            lag[(committed.topic, committed.partition)] = max(0, high - position)
        return lag
    finally:
        consumer.close()
