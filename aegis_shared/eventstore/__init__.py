"""Event sourcing on PostgreSQL: an event store with streams, catch-up subscriptions and projections.

See :mod:`aegis_shared.eventstore.store` for the ordering and concurrency guarantees and for how
the store relates to the transactional outbox.
"""

from aegis_shared.eventstore.store import (
    ANY,
    NO_STREAM,
    START,
    Appended,
    Checkpoint,
    EventStore,
    NewEvent,
    RecordedEvent,
)
from aegis_shared.eventstore.subscriptions import Projection, Subscription, project, rebuild, subscription

__all__ = [
    "ANY",
    "NO_STREAM",
    "START",
    "Appended",
    "Checkpoint",
    "EventStore",
    "NewEvent",
    "Projection",
    "RecordedEvent",
    "Subscription",
    "project",
    "rebuild",
    "subscription",
]
