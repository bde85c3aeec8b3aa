"""Catch-up subscriptions with a stored checkpoint, and projections (read models) built on them.

A :class:`Subscription` reads every stream in the store's commit-safe order from its checkpoint
in ``event_subscriptions``, hands each batch to its handler and moves the checkpoint **in the
same transaction**. So a handler that writes PostgreSQL (a read model) sees each event exactly
once, even across crashes; a handler with effects elsewhere (Kafka, a search index) sees each at
least once. The checkpoint row is locked for the batch, so two runners of one subscription take
turns instead of handling a batch twice.

A :class:`Projection` is a subscription whose handler keeps a read model, plus ``reset``:
:func:`rebuild` empties the model and replays every event in one transaction (readers see the
old model until it commits), which must give the same model as applying the events as they came.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

import sqlalchemy as sa

from aegis_shared.eventstore.store import START, Checkpoint, EventStore, RecordedEvent

Handler = Callable[[sa.Connection, Sequence[RecordedEvent]], None]

_ENSURE = sa.text("INSERT INTO event_subscriptions (name) VALUES (:name) ON CONFLICT (name) DO NOTHING")
_LOCK = sa.text(
    "SELECT transaction_id, global_position FROM event_subscriptions WHERE name = :name FOR UPDATE"
)
_SAVE = sa.text(
    "UPDATE event_subscriptions SET transaction_id = :xid, global_position = :position, updated_at = now() "
    "WHERE name = :name"
)


class Subscription:
    """Follows all streams from a stored checkpoint (module docstring).

    ``event_types``: hand only these to the handler (the checkpoint still moves past the others).
    """

    def __init__(
        self,
        store: EventStore,
        name: str,
        handler: Handler,
        *,
        batch_size: int = 1000,
        event_types: Collection[str] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.store = store
        self.name = name
        self.handler = handler
        self.batch_size = batch_size
        self.event_types = frozenset(event_types) if event_types is not None else None

    def checkpoint(self) -> Checkpoint:
        """The last event handled (``START`` before the first)."""
        with self.store.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT transaction_id, global_position FROM event_subscriptions WHERE name = :name"),
                {"name": self.name},
            ).first()
        return Checkpoint(row.transaction_id, row.global_position) if row else START

    def _lock(self, conn: sa.Connection) -> Checkpoint:
        conn.execute(_ENSURE, {"name": self.name})
        row = conn.execute(_LOCK, {"name": self.name}).one()
        return Checkpoint(row.transaction_id, row.global_position)

    def _save(self, conn: sa.Connection, checkpoint: Checkpoint) -> None:
        conn.execute(
            _SAVE,
            {"name": self.name, "xid": checkpoint.transaction_id, "position": checkpoint.global_position},
        )

    def _handle(self, conn: sa.Connection, events: Sequence[RecordedEvent]) -> None:
        wanted = (
            events if self.event_types is None else [e for e in events if e.event_type in self.event_types]
        )
        if wanted:
            self.handler(conn, wanted)

    def catch_up(self) -> int:
        """Handle everything readable now, a batch per transaction; returns how many events were read.

        A handler that raises rolls its batch back with the checkpoint, so the batch is read again
        by the next call.
        """
        total = 0
        while True:
            with self.store.engine.begin() as conn:
                after = self._lock(conn)
                events = self.store.read_all(after, limit=self.batch_size, connection=conn)
                if events:
                    self._handle(conn, events)
                    self._save(conn, events[-1].checkpoint)
            total += len(events)
            if len(events) < self.batch_size:
                return total

    def run(self, stop: threading.Event, *, poll_interval: float = 1.0) -> int:
        """Catch up, then keep following until ``stop`` is set; returns how many events were read."""
        total = 0
        while not stop.is_set():
            total += self.catch_up()
            stop.wait(poll_interval)
        return total


class Projection(Protocol):
    """A read model kept from events: ``apply`` handles a batch, ``reset`` empties the model."""

    name: str
    event_types: Collection[str] | None

    def apply(self, conn: sa.Connection, events: Sequence[RecordedEvent]) -> None: ...

    def reset(self, conn: sa.Connection) -> None: ...


def subscription(store: EventStore, projection: Projection, *, batch_size: int = 1000) -> Subscription:
    """The subscription that keeps ``projection`` up to date, checkpointed under its name."""
    return Subscription(
        store, projection.name, projection.apply, batch_size=batch_size, event_types=projection.event_types
    )


def project(store: EventStore, projection: Projection, *, batch_size: int = 1000) -> int:
    """Bring ``projection`` up to date incrementally; returns how many events were read."""
    return subscription(store, projection, batch_size=batch_size).catch_up()


def rebuild(store: EventStore, projection: Projection, *, batch_size: int = 1000) -> int:
    """Empty ``projection``'s model and replay every event, in one transaction; returns events read."""
    sub = subscription(store, projection, batch_size=batch_size)
    total = 0
    with store.engine.begin() as conn:
        sub._lock(conn)  # an incremental run waits for the rebuild, then continues from its end
        projection.reset(conn)
        after = START
        while True:
            events = store.read_all(after, limit=batch_size, connection=conn)
            if not events:
                break
            sub._handle(conn, events)
            after = events[-1].checkpoint
            total += len(events)
        sub._save(conn, after)
    return total
