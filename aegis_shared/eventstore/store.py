"""An event store in PostgreSQL: streams with optimistic concurrency, and one commit-safe global order.

Why PostgreSQL: the events describe rows the same services write there, so appending in the
rows' own transaction makes "the row changed" and "the event was recorded" one atomic fact, the
same reasoning as the transactional outbox.

* **Streams.** Each event belongs to a stream (``policy-bizinfo:P1``) and has a version in it,
  1, 2, 3... :meth:`EventStore.append_event` takes the version the writer last saw
  (``expected_version``; ``NO_STREAM`` = 0 for a new stream, ``ANY`` = no check). A stale version
  raises ``DB_4030`` and writes nothing; the unique ``(stream_id, stream_version)`` index is what
  makes two concurrent writers unable to both win, whatever their timing.
* **All streams.** :meth:`EventStore.read_all` returns every event in ``(transaction_id,
  global_position)`` order, and only events of transactions older than the oldest one still
  running. A sequence number alone is not safe to follow: a transaction that took position 5 may
  commit after the one that took 6, and a reader that already moved past 6 would never see 5.
  Transaction ids below the snapshot's ``xmin`` are all finished, and no new one can appear there,
  so a reader following this order never skips an event. The price: a long-running transaction
  delays (never loses) what readers see.
* **Subscriptions and projections** live in :mod:`aegis_shared.eventstore.subscriptions`.

Relation to the outbox (``event_outbox``, published by the relay in
``aegis_orchestration.pipeline.outbox``): they are two tables with two jobs, written in the same
transaction. The store is the permanent, queryable history (never purged, read by stream and by
position, rebuilt into read models); the outbox holds the exact Kafka bytes still to be sent,
DLQ records that belong to no stream included, and is purged after publication. Making the store
the outbox (a relay publishing by global position from a checkpoint) is possible with
:class:`~aegis_shared.eventstore.subscriptions.Subscription`, but would change what the relay
publishes and its exactly-once ledger, so the outbox is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from uuid import UUID, uuid4

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from aegis_shared.errors import DatabaseError

ANY: Final = None  # expected_version: append whatever the stream's version
NO_STREAM: Final = 0  # expected_version: the stream must not exist yet

_MAX_ID = 500

# The version a stream has; 0 when it has no event.
_VERSION = sa.text("SELECT coalesce(max(stream_version), 0) FROM event_store WHERE stream_id = :stream")

# Appends ``n`` events to one stream iff its version is ``expected``; returns nothing otherwise.
_APPEND_EXPECTED = sa.text(
    """
    INSERT INTO event_store (stream_id, stream_version, event_id, event_type, data, metadata)
    SELECT :stream, :expected + v.n, v.event_id, v.event_type, v.data, v.metadata
    FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]), CAST(:datas AS jsonb[]),
                CAST(:metas AS jsonb[])) WITH ORDINALITY AS v(event_id, event_type, data, metadata, n)
    WHERE (SELECT coalesce(max(stream_version), 0) FROM event_store WHERE stream_id = :stream) = :expected
    ORDER BY v.n
    RETURNING global_position, stream_version
    """
)

# Appends events to many streams at once, each after its stream's current end (``ANY``).
_APPEND_ANY = sa.text(
    """
    WITH v AS (
        SELECT * FROM unnest(CAST(:streams AS text[]), CAST(:ids AS uuid[]), CAST(:types AS text[]),
                             CAST(:datas AS jsonb[]), CAST(:metas AS jsonb[]))
            WITH ORDINALITY AS v(stream_id, event_id, event_type, data, metadata, n)
    ), head AS (
        SELECT s.stream_id, coalesce(max(e.stream_version), 0) AS version
        FROM (SELECT DISTINCT stream_id FROM v) s
        LEFT JOIN event_store e ON e.stream_id = s.stream_id
        GROUP BY s.stream_id
    )
    INSERT INTO event_store (stream_id, stream_version, event_id, event_type, data, metadata)
    SELECT v.stream_id, head.version + row_number() OVER (PARTITION BY v.stream_id ORDER BY v.n),
           v.event_id, v.event_type, v.data, v.metadata
    FROM v JOIN head USING (stream_id)
    ORDER BY v.n
    RETURNING global_position, stream_id, stream_version
    """
)

_COLUMNS = (
    "global_position, transaction_id, stream_id, stream_version, event_id, event_type, data, metadata, "
    "recorded_at"
)
_STREAM = sa.text(
    f"SELECT {_COLUMNS} FROM event_store WHERE stream_id = :stream AND stream_version >= :from_version "  # nosec B608 # table and column names are module constants; values are bound
    "ORDER BY stream_version LIMIT :limit"
)
_ALL = sa.text(
    f"SELECT {_COLUMNS} FROM event_store "  # nosec B608 # table and column names are module constants; values are bound
    "WHERE (transaction_id, global_position) > (:xid, :position) "
    "AND transaction_id < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint "
    "ORDER BY transaction_id, global_position LIMIT :limit"
)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append: its type, a JSON object of data and optional metadata (run id, actor)."""

    event_type: str
    data: Mapping[str, Any]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    event_id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True, slots=True, order=True)
class Checkpoint:
    """A place in the all-streams order: the last event handled (``START`` before the first)."""

    transaction_id: int = 0
    global_position: int = 0


START: Final = Checkpoint()


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored."""

    global_position: int
    transaction_id: int
    stream_id: str
    stream_version: int
    event_id: UUID
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.transaction_id, self.global_position)


@dataclass(frozen=True, slots=True)
class Appended:
    """Where an appended event landed."""

    stream_id: str
    stream_version: int
    global_position: int


def _invalid(message: str, **details: Any) -> DatabaseError:
    return DatabaseError("DB_4031", message, details=details)


def _check_stream(stream_id: str) -> None:
    if not isinstance(stream_id, str) or not stream_id.strip() or len(stream_id) > _MAX_ID:
        raise _invalid(f"stream id must be a non-blank string of at most {_MAX_ID} characters")


def _encode(events: Sequence[NewEvent]) -> dict[str, list[Any]]:
    ids: list[UUID] = []
    types: list[str] = []
    datas: list[str] = []
    metas: list[str] = []
    for event in events:
        if not isinstance(event, NewEvent):
            raise _invalid(f"expected a NewEvent, got {type(event).__name__}")
        if not isinstance(event.event_type, str) or not event.event_type.strip():
            raise _invalid("event type must be a non-blank string")
        if not isinstance(event.data, Mapping) or not isinstance(event.metadata, Mapping):
            raise _invalid("event data and metadata must be JSON objects", event_type=event.event_type)
        try:
            datas.append(orjson.dumps(dict(event.data)).decode())
            metas.append(orjson.dumps(dict(event.metadata)).decode())
        except TypeError as exc:
            raise _invalid(
                f"event data is not JSON-serialisable: {exc}", event_type=event.event_type
            ) from exc
        ids.append(event.event_id)
        types.append(event.event_type)
    return {"ids": ids, "types": types, "datas": datas, "metas": metas}


def _guard(conn: sa.Connection, callers: sa.Connection | None) -> AbstractContextManager[Any]:
    """A savepoint in the caller's transaction, so a lost race leaves it usable; none in our own."""
    return conn.begin_nested() if callers is not None else nullcontext()


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(
        global_position=row.global_position,
        transaction_id=row.transaction_id,
        stream_id=row.stream_id,
        stream_version=row.stream_version,
        event_id=row.event_id,
        event_type=row.event_type,
        data=row.data,
        metadata=row.metadata,
        recorded_at=row.recorded_at,
    )


class EventStore:
    """Append to and read from ``event_store``.

    Every method takes an optional ``connection``: given one, it works inside the caller's
    transaction (so events commit or roll back with the rows they describe); without, it uses its
    own transaction on ``engine``.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @contextmanager
    def _conn(self, connection: sa.Connection | None) -> Iterator[sa.Connection]:
        if connection is not None:
            yield connection
        else:
            with self.engine.begin() as conn:
                yield conn

    def append_event(
        self,
        stream_id: str,
        event: NewEvent,
        expected_version: int | None,
        *,
        connection: sa.Connection | None = None,
    ) -> Appended:
        """Append one event; see :meth:`append_events`."""
        return self.append_events(stream_id, [event], expected_version, connection=connection)[-1]

    def append_events(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None,
        *,
        connection: sa.Connection | None = None,
    ) -> list[Appended]:
        """Append ``events`` to ``stream_id`` if its version is ``expected_version``, all or none.

        ``expected_version``: the version the writer read (``NO_STREAM`` for a new stream), or
        ``ANY``. Raises ``DB_4030`` when the stream has moved on (another writer appended first,
        even one committing while this call waited) and ``DB_4031`` for an invalid event; the
        caller's transaction stays usable either way.
        """
        _check_stream(stream_id)
        if not events:
            raise _invalid("nothing to append", stream_id=stream_id)
        valid = isinstance(expected_version, int) and not isinstance(expected_version, bool)
        if expected_version is not None and (not valid or expected_version < 0):
            raise _invalid("expected_version must be ANY (None) or an integer >= 0", stream_id=stream_id)
        encoded = _encode(events)
        with self._conn(connection) as conn:
            if expected_version is None:
                return self._append_any(conn, [(stream_id, e) for e in events], encoded, connection)
            try:
                with _guard(conn, connection):
                    rows = conn.execute(
                        _APPEND_EXPECTED, {"stream": stream_id, "expected": expected_version, **encoded}
                    ).all()
            except IntegrityError as exc:
                # Our own transaction is aborted now: read the winner's version on a fresh connection.
                raise self._conflict(connection, stream_id, expected_version) from exc
            if not rows:
                raise self._conflict(conn, stream_id, expected_version)
            return [Appended(stream_id, row.stream_version, row.global_position) for row in rows]

    def append_to_streams(
        self, appends: Sequence[tuple[str, NewEvent]], *, connection: sa.Connection | None = None
    ) -> list[Appended]:
        """Append many events to many streams in one statement, each at its stream's end (``ANY``).

        For writers that already serialise a stream's changes (the pipeline holds the policy
        row's lock): one round trip for a whole batch. Raises ``DB_4030`` if another writer
        appended to one of the streams concurrently; nothing is written then.
        """
        if not appends:
            return []
        for stream_id, _ in appends:
            _check_stream(stream_id)
        encoded = _encode([event for _, event in appends])
        with self._conn(connection) as conn:
            return self._append_any(conn, appends, encoded, connection)

    def _append_any(
        self,
        conn: sa.Connection,
        appends: Sequence[tuple[str, NewEvent]],
        encoded: dict[str, list[Any]],
        callers: sa.Connection | None,
    ) -> list[Appended]:
        try:
            with _guard(conn, callers):
                rows = conn.execute(
                    _APPEND_ANY, {"streams": [stream for stream, _ in appends], **encoded}
                ).all()
        except IntegrityError as exc:
            streams = sorted({stream for stream, _ in appends})
            raise DatabaseError(
                "DB_4030",
                "another writer appended to the same stream concurrently; nothing was appended",
                details={"streams": streams[:10]},
            ) from exc
        return [Appended(row.stream_id, row.stream_version, row.global_position) for row in rows]

    def _conflict(self, conn: sa.Connection | None, stream_id: str, expected: int) -> DatabaseError:
        if conn is None:
            with self.engine.connect() as fresh:
                actual = int(fresh.execute(_VERSION, {"stream": stream_id}).scalar_one())
        else:
            actual = int(conn.execute(_VERSION, {"stream": stream_id}).scalar_one())
        return DatabaseError(
            "DB_4030",
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}; nothing was appended",
            details={"stream_id": stream_id, "expected_version": expected, "actual_version": actual},
        )

    def stream_version(self, stream_id: str, *, connection: sa.Connection | None = None) -> int:
        """The stream's current version (0 when it has no events)."""
        with self._conn(connection) as conn:
            return int(conn.execute(_VERSION, {"stream": stream_id}).scalar_one())

    def get_events(
        self,
        stream_id: str,
        from_version: int = 1,
        *,
        limit: int | None = None,
        connection: sa.Connection | None = None,
    ) -> list[RecordedEvent]:
        """The stream's events from ``from_version`` on, in version order (empty for an unknown stream)."""
        _check_stream(stream_id)
        with self._conn(connection) as conn:
            rows = conn.execute(
                _STREAM, {"stream": stream_id, "from_version": max(from_version, 1), "limit": limit}
            ).all()
        return [_recorded(row) for row in rows]

    def read_all(
        self,
        after: Checkpoint = START,
        *,
        limit: int = 1000,
        connection: sa.Connection | None = None,
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events of all streams after ``after``, in commit-safe order (module docstring).

        Events of transactions still running, or younger than one still running, are not
        returned yet; they come in a later call, after ``after``, never before it.
        """
        with self._conn(connection) as conn:
            rows = conn.execute(
                _ALL, {"xid": after.transaction_id, "position": after.global_position, "limit": limit}
            ).all()
        return [_recorded(row) for row in rows]
