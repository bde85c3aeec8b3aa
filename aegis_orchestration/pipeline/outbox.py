"""The transactional outbox: Kafka messages written with the rows they describe, published after.

Why: a job that commits rows and then publishes can die in between. Writing the finished Kafka
message (topic, key, exact bytes, headers) into ``event_outbox`` in the rows' own transaction
makes "the row exists" and "its message will be published" one atomic fact. Each message has a
deterministic ``dedupe_key``, so writing it again (a retried run) is a no-op.

:class:`OutboxRelay` publishes unpublished entries in id order, each claim in one Kafka
transaction, and marks them published in the claim's PostgreSQL transaction. Rows are claimed with
``FOR UPDATE SKIP LOCKED`` so concurrent relays (two runs, or a run and ``aegis hot-path serve``)
never publish the same entry twice. A relay that dies after producing and before the Kafka commit
leaves an open transaction the broker aborts (``transaction.timeout.ms``); read-committed
consumers (librdkafka's default) never see those messages, and the next relay publishes the
entries once.

Per-key order across relays: a relay that claimed a later version of a key while another relay
still holds an earlier one (locked, so skipped) would publish them in the wrong order. So after
claiming, a relay holds back every entry of a key that has an earlier unpublished entry outside
its claim; it is published by a later pass once the earlier one is marked published, which
happens only once its Kafka transaction committed. The one remaining window, a crash between the
Kafka commit and the PostgreSQL commit, re-sends the same bytes with the same ``eventId``;
consumers drop such repeats by event id.

Retention: published entries older than ``AEGIS_OUTBOX_RETENTION_DAYS`` (default 7) are purged by
:func:`purge_published`, which every relay runs at most once a minute. Their dedupe keys move to
``event_outbox_published`` in the same statement, and :func:`write_messages` skips keys found
there, so a message written again after its entry was purged is still not published twice. A
shared advisory lock taken by writers, exclusive for the purge, keeps a write and a purge of the
same key from crossing.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert

from aegis_shared.config import get_settings
from aegis_shared.errors import ExternalServiceError
from aegis_shared.events.envelope import Envelope
from aegis_shared.logging import get_logger
from aegis_shared.messaging import DEFAULT_PRODUCER_CONFIG

_log = get_logger(__name__)

# The columns this module uses; the table itself comes from schemas/db/event_outbox.yaml.
outbox_table = sa.Table(
    "event_outbox",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("dedupe_key", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("message_key", BYTEA),
    sa.Column("payload", BYTEA, nullable=False),
    sa.Column("headers", JSONB, nullable=False),
    sa.Column("event_id", PG_UUID(as_uuid=True)),
    sa.Column("error_code", sa.Text),
    sa.Column("source_topic", sa.Text),
    sa.Column("source_partition", sa.Integer),
    sa.Column("source_offset", sa.BigInteger),
    sa.Column("published_at", sa.DateTime(timezone=True)),
)

# Keys of purged entries (schemas/db/event_outbox_published.yaml).
published_table = sa.Table(
    "event_outbox_published",
    sa.MetaData(),
    sa.Column("dedupe_key", sa.Text, primary_key=True),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)

INSERT_CHUNK = 1000
PURGE_BATCH = 10_000
# One advisory lock key for "outbox keys are being purged": shared by writers, exclusive for the
# purge ("aegisobx" as a 64-bit integer).
PURGE_LOCK_KEY = 0x61656769736F6278
_FROM_SETTINGS: Any = object()


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One finished Kafka message waiting in the outbox."""

    dedupe_key: str
    kind: str  # "event" | "dlq"
    topic: str
    key: bytes | None
    payload: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    event_id: UUID | None = None
    error_code: str | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None

    def row(self) -> dict[str, Any]:
        return {
            "dedupe_key": self.dedupe_key,
            "kind": self.kind,
            "topic": self.topic,
            "message_key": self.key,
            "payload": self.payload,
            # JSON cannot hold arbitrary bytes; header values are base64 so binary headers survive.
            "headers": [[name, base64.b64encode(value).decode("ascii")] for name, value in self.headers],
            "event_id": self.event_id,
            "error_code": self.error_code,
            "source_topic": self.source_topic,
            "source_partition": self.source_partition,
            "source_offset": self.source_offset,
        }


def envelope_message(
    envelope: Envelope, *, topic: str, key: str, dedupe_key: str, **source: Any
) -> OutboxMessage:
    """An event envelope as an outbox message, with the headers EventPublisher sets.

    ``source`` may carry ``source_topic`` / ``source_partition`` / ``source_offset`` of the
    record the event was derived from.
    """
    return OutboxMessage(
        dedupe_key=dedupe_key,
        kind="event",
        topic=topic,
        key=key.encode(),
        payload=envelope.to_bytes(),
        # The same headers EventPublisher sets, so consumers route without parsing the body.
        headers=(
            ("event-type", envelope.event_type.encode()),
            ("event-version", envelope.event_version.encode()),
            ("correlation-id", envelope.correlation_id.encode()),
            ("event-id", str(envelope.event_id).encode()),
        ),
        event_id=envelope.event_id,
        **source,
    )


def decode_headers(stored: Sequence[Sequence[str]] | str) -> list[tuple[str, bytes]]:
    """Stored ``[[name, base64], ...]`` back to Kafka headers."""
    pairs = json.loads(stored) if isinstance(stored, str) else stored
    return [(name, base64.b64decode(value)) for name, value in pairs]


def write_messages(connection: sa.Connection, messages: Sequence[OutboxMessage]) -> int:
    """Add ``messages`` inside the caller's transaction; returns how many were new.

    A message whose dedupe key is in the outbox, or was purged from it after publication, is
    not new.
    """
    if not messages:
        return 0
    # Held until the caller's transaction ends, so a purge cannot move a key between our check
    # of the ledger and our insert.
    connection.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(PURGE_LOCK_KEY)))
    written = 0
    rows = [m.row() for m in messages]
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        purged = set(
            connection.execute(
                sa.select(published_table.c.dedupe_key).where(
                    published_table.c.dedupe_key.in_([row["dedupe_key"] for row in chunk])
                )
            ).scalars()
        )
        chunk = [row for row in chunk if row["dedupe_key"] not in purged]
        if not chunk:
            continue
        statement = (
            pg_insert(outbox_table)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(outbox_table.c.id)
        )
        written += len(connection.execute(statement).all())
    return written


_PURGE = sa.text(
    """
    WITH doomed AS (
        SELECT id FROM event_outbox
        WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => :age)
        ORDER BY published_at, id
        LIMIT :n
    ), gone AS (
        DELETE FROM event_outbox AS o USING doomed WHERE o.id = doomed.id
        RETURNING o.dedupe_key, o.published_at
    ), kept AS (
        INSERT INTO event_outbox_published (dedupe_key, published_at)
        SELECT dedupe_key, published_at FROM gone
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM gone) AS purged
    """
)


def purge_published(engine: sa.Engine, older_than: timedelta, *, batch_size: int = PURGE_BATCH) -> int:
    """Delete entries published more than ``older_than`` ago, keeping their dedupe keys.

    Unpublished entries are never purged, however old. Runs in batches of ``batch_size``, one
    transaction each; if another purge holds the lock, this one returns at once (0 more).
    Returns how many entries were purged.
    """
    if older_than.total_seconds() <= 0:
        raise ValueError("older_than must be positive")
    total = 0
    while True:
        with engine.begin() as conn:
            if not conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(PURGE_LOCK_KEY))).scalar_one():
                return total
            purged = int(
                conn.execute(_PURGE, {"age": older_than.total_seconds(), "n": batch_size}).scalar_one()
            )
        total += purged
        if purged < batch_size:
            if total:
                _log.info("outbox_purged", entries=total, older_than_seconds=older_than.total_seconds())
            return total


def pending_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM event_outbox WHERE published_at IS NULL")
        return int(conn.execute(query).scalar_one())


# Claimed entries with an earlier unpublished entry of the same topic and key outside the claim
# (claimed by another relay, or written by a transaction committed since): publishing them now
# could put them before it. Keyless entries carry no order.
_BLOCKED = sa.text(
    """
    SELECT o.id FROM event_outbox AS o
    WHERE o.id = ANY(:ids) AND o.message_key IS NOT NULL
      AND EXISTS (
        SELECT 1 FROM event_outbox AS e
        WHERE e.published_at IS NULL AND e.topic = o.topic AND e.message_key = o.message_key
          AND e.id < o.id AND NOT (e.id = ANY(:ids))
      )
    """
)


@dataclass(frozen=True, slots=True)
class _Claim:
    claimed: int
    published: int
    held_back: int = 0


class OutboxRelay:
    """Publishes unpublished outbox entries with an idempotent producer, then marks them published."""

    def __init__(
        self,
        engine: sa.Engine,
        bootstrap: str,
        *,
        config: Mapping[str, Any] | None = None,
        claim_size: int = 5000,
        timeout: float = 60.0,
        retention: timedelta | None = _FROM_SETTINGS,
        purge_interval: float = 60.0,
        transaction_timeout_ms: int = 20_000,
    ) -> None:
        """``retention``: purge entries published longer ago than this after publishing (at most
        every ``purge_interval`` seconds); default ``AEGIS_OUTBOX_RETENTION_DAYS``, ``None`` never.

        ``transaction_timeout_ms``: how long the broker keeps a dead relay's open transaction
        before aborting it; read-committed consumers of its partitions wait that long."""
        self.engine = engine
        self.claim_size = claim_size
        self.timeout = timeout
        if retention is _FROM_SETTINGS:
            days = get_settings().outbox_retention_days
            retention = timedelta(days=days) if days else None
        self.retention: timedelta | None = retention
        self.purge_interval = purge_interval
        self._last_purge: float | None = None
        self.purged = 0
        # Entries left for a later pass because another relay held an earlier one of their key.
        self.held_back = 0
        # The publisher's own reliability settings (idempotence, acks=all, lz4, linger) apply here too.
        # One transactional id per relay: concurrent relays must not fence each other.
        self._config: dict[str, Any] = {
            **DEFAULT_PRODUCER_CONFIG,
            "linger.ms": 2,
            "transaction.timeout.ms": transaction_timeout_ms,
            # librdkafka refuses a message timeout longer than the transaction's.
            "message.timeout.ms": min(DEFAULT_PRODUCER_CONFIG["message.timeout.ms"], transaction_timeout_ms),
            **(config or {}),
            "bootstrap.servers": bootstrap,
            "transactional.id": f"aegis-outbox-relay-{uuid4().hex}",
        }
        # Created on first use: init_transactions needs the broker, constructing a relay does not.
        self._producer: Producer | None = None

    def publish_pending(self) -> int:
        """Publish every unpublished entry (in id order); returns how many this call published.

        Entries held back for per-key order (another relay holds an earlier one of their key)
        are retried until that relay marked it published, for at most ``timeout`` seconds.
        Raises EXT_5012 if the broker refused or did not acknowledge a
        message; the claimed entries then stay unpublished and the next call sends them again.
        """
        total = 0
        deadline = time.monotonic() + self.timeout
        while True:
            claim = self._publish_claim()
            total += claim.published
            if claim.claimed < self.claim_size:
                if claim.held_back and time.monotonic() < deadline:
                    # The other relay marks the earlier entry published when its flush returns.
                    time.sleep(0.02)
                    continue
                self._purge_if_due()
                return total

    def _purge_if_due(self) -> None:
        if self.retention is None:
            return
        now = time.monotonic()
        if self._last_purge is not None and now - self._last_purge < self.purge_interval:
            return
        self._last_purge = now
        self.purged += purge_published(self.engine, self.retention)

    def _transactional(self) -> Producer:
        if self._producer is None:
            producer = Producer(self._config)
            try:
                producer.init_transactions(self.timeout)
            except KafkaException as exc:
                raise ExternalServiceError(
                    "EXT_5012", f"outbox: could not start a Kafka transaction: {exc}"
                ) from exc
            self._producer = producer
        return self._producer

    def _publish_claim(self) -> _Claim:
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, topic, message_key, payload, headers FROM event_outbox "
                    "WHERE published_at IS NULL ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
                ),
                {"n": self.claim_size},
            ).all()
            if not rows:
                return _Claim(0, 0)
            claimed = len(rows)
            blocked = set(conn.execute(_BLOCKED, {"ids": [row.id for row in rows]}).scalars())
            self.held_back += len(blocked)
            rows = [row for row in rows if row.id not in blocked]
            if not rows:
                return _Claim(claimed, 0, len(blocked))
            producer = self._transactional()
            failures: list[str] = []

            def report(err: KafkaError | None, _msg: Message) -> None:
                if err is not None:
                    failures.append(str(err))

            try:
                producer.begin_transaction()
                for row in rows:
                    self._produce(
                        producer,
                        row.topic,
                        bytes(row.payload),
                        bytes(row.message_key) if row.message_key is not None else None,
                        decode_headers(row.headers),
                        report,
                    )
                remaining = producer.flush(self.timeout)
                if failures or remaining:
                    raise ExternalServiceError(
                        "EXT_5012",
                        f"outbox: {len(failures)} message(s) refused, {remaining} unacknowledged after "
                        f"{self.timeout}s",
                        details={"errors": failures[:10], "claimed": len(rows)},
                    )
                self._commit_claim(conn, producer, [row.id for row in rows])
            except BaseException as exc:
                # Aborting the Kafka transaction and rolling back the claim (by raising) leave the
                # entries unpublished on both sides: the next attempt sends them once.
                self._abort()
                if isinstance(exc, KafkaException):
                    raise ExternalServiceError(
                        "EXT_5012", f"outbox: Kafka transaction failed: {exc}", details={"claimed": len(rows)}
                    ) from exc
                raise
        return _Claim(claimed, len(rows), len(blocked))

    def _commit_claim(self, conn: sa.Connection, producer: Producer, ids: list[int]) -> None:
        """Mark the claim published (not yet committed in PostgreSQL), then commit it in Kafka.

        Kafka commits first: if PostgreSQL then fails, the entries go out again under the same
        event ids (which consumers drop); the other order could lose them.
        """
        conn.execute(
            sa.text("UPDATE event_outbox SET published_at = now() WHERE id = ANY(:ids)"), {"ids": ids}
        )
        producer.commit_transaction(self.timeout)

    def _abort(self) -> None:
        if self._producer is None:
            return
        try:
            self._producer.abort_transaction(self.timeout)
        except KafkaException as exc:
            # A producer that cannot abort (fenced, fatal, broker gone) is replaced; a new one
            # with the same transactional id aborts whatever the old one left open.
            _log.warning("outbox transaction abort failed; producer replaced", error=str(exc))
            self._producer = None

    @staticmethod
    def _produce(
        producer: Producer,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: list[tuple[str, bytes]],
        report: Any,
    ) -> None:
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers, on_delivery=report)
                return
            except BufferError:
                # Local queue full: serve delivery reports until librdkafka has room.
                producer.poll(0.05)
            except KafkaException as exc:
                raise ExternalServiceError(
                    "EXT_5012", f"outbox: could not enqueue to {topic}: {exc}", details={"topic": topic}
                ) from exc

    def close(self) -> None:
        """Wait for anything in flight (normally nothing: every claim commits or aborts)."""
        if self._producer is not None:
            self._producer.flush(self.timeout)

    def __enter__(self) -> OutboxRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
