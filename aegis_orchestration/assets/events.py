"""Publishing pipeline events from assets, with one flush per asset rather than per event."""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from aegis_orchestration.resources import KafkaResource


def publish(
    kafka: KafkaResource,
    events: Sequence[tuple[str, dict[str, Any], str]],
    context: dg.AssetExecutionContext | None = None,
) -> int:
    """Publish ``(event_type, data, key)`` triples; a failed delivery raises its coded error."""
    if not events:
        return 0
    from aegis_shared.messaging import OutgoingEvent

    with kafka.publisher() as publisher:
        publisher.publish_many([OutgoingEvent(event_type, data, key) for event_type, data, key in events])
    if context is not None:
        context.log.info(f"published {len(events)} {events[0][0]} event(s)")
    return len(events)
