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

**The one way to publish.** Every pipeline event goes through this outbox: written with the rows
it describes (:func:`write_messages`), then sent by :class:`OutboxRelay`. Dagster assets run the
relay through one call, ``KafkaResource.relay_outbox`` (:func:`relay_pending`); the hot path keeps
one long-lived relay per processor so each batch reuses its transactional producer (that is what
keeps produce → committed row well under a second; it is still the outbox, not a direct publish).
Publishing directly with ``EventPublisher`` is allowed only where no PostgreSQL transaction
describes the event and losing it on a crash is acceptable: tests, benchmarks and tools that
produce input for the pipeline (``aegis pipeline`` demos, the replay of a collection topic). No
pipeline stage does.
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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from aegis_orchestration.pipeline import tables
from aegis_shared.config import get_settings
from aegis_shared.errors import ExternalServiceError
from aegis_shared.events.envelope import Envelope
from aegis_shared.logging import get_logger
from aegis_shared.messaging import DEFAULT_PRODUCER_CONFIG, EventPublisher

_log = get_logger(__name__)

# The tables come from the registry (schemas/db/event_outbox*.yaml, see pipeline/tables.py).
outbox_entries = tables.event_outbox
purged_keys = tables.event_outbox_published

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


def event_message(
    builder: EventPublisher,
    event_type: str,
    data: Mapping[str, Any],
    *,
    key: str,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """``data`` validated and enveloped by ``builder`` now, as an outbox message.

    Without ``dedupe_key`` the message is unique to this call (its event id): for events that
    report something done once, like a store sync, rather than a row version.
    """
    envelope = builder.build(event_type, data)
    return envelope_message(
        envelope,
        topic=builder.topic_for(envelope),
        key=key,
        dedupe_key=dedupe_key or f"{event_type}:{key}:{envelope.event_id}",
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
                sa.select(purged_keys.c.dedupe_key).where(
                    purged_keys.c.dedupe_key.in_([row["dedupe_key"] for row in chunk])
                )
            ).scalars()
        )
        chunk = [row for row in chunk if row["dedupe_key"] not in purged]
        if not chunk:
            continue
        statement = (
            pg_insert(outbox_entries)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(outbox_entries.c.id)
        )
        written += len(connection.execute(statement).all())
    return written


def _purge_statement(older_than: timedelta, batch_size: int) -> sa.Select[Any]:
    """Delete a batch of old published entries and keep their keys, in one statement."""
    o, kept = outbox_entries, purged_keys
    doomed = (
        sa.select(o.c.id)
        .where(
            o.c.published_at.is_not(None),
            o.c.published_at < sa.func.now() - sa.literal(older_than, sa.Interval),
        )
        .order_by(o.c.published_at, o.c.id)
        .limit(batch_size)
        .cte("doomed")
    )
    gone = sa.delete(o).where(o.c.id == doomed.c.id).returning(o.c.dedupe_key, o.c.published_at).cte("gone")
    keep = (
        pg_insert(kept)
        .from_select(["dedupe_key", "published_at"], sa.select(gone.c.dedupe_key, gone.c.published_at))
        .on_conflict_do_nothing(index_elements=[kept.c.dedupe_key])
        .returning(sa.literal(1))
        .cte("kept")
    )
    # Selecting from "kept" is not needed: a data-modifying CTE runs whether or not it is read.
    return sa.select(sa.select(sa.func.count()).select_from(gone).scalar_subquery().label("purged")).add_cte(
        keep
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
            purged = int(conn.execute(_purge_statement(older_than, batch_size)).scalar_one())
        total += purged
        if purged < batch_size:
            if total:
                _log.info("outbox_purged", entries=total, older_than_seconds=older_than.total_seconds())
            return total


def pending_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(outbox_entries)
        return int(conn.execute(query.where(outbox_entries.c.published_at.is_(None))).scalar_one())


# Claimed entries with an earlier unpublished entry of the same topic and key outside the claim
# (claimed by another relay, or written by a transaction committed since): publishing them now
# could put them before it. Keyless entries carry no order.
def _blocked(ids: list[int]) -> sa.Select[Any]:
    o, e = outbox_entries.alias("o"), outbox_entries.alias("e")
    claim = sa.bindparam("ids", ids, type_=ARRAY(sa.BigInteger))
    earlier = sa.select(sa.literal(1)).where(
        e.c.published_at.is_(None),
        e.c.topic == o.c.topic,
        e.c.message_key == o.c.message_key,
        e.c.id < o.c.id,
        sa.not_(e.c.id == sa.any_(claim)),
    )
    return sa.select(o.c.id).where(o.c.id == sa.any_(claim), o.c.message_key.is_not(None), earlier.exists())


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
            o = outbox_entries
            rows = conn.execute(
                sa.select(o.c.id, o.c.topic, o.c.message_key, o.c.payload, o.c.headers)
                .where(o.c.published_at.is_(None))
                .order_by(o.c.id)
                .limit(self.claim_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return _Claim(0, 0)
            claimed = len(rows)
            blocked = set(conn.execute(_blocked([row.id for row in rows])).scalars())
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
        o = outbox_entries
        claim = sa.bindparam("ids", ids, type_=ARRAY(sa.BigInteger))
        conn.execute(sa.update(o).values(published_at=sa.func.now()).where(o.c.id == sa.any_(claim)))
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


def relay_pending(engine: sa.Engine, bootstrap: str, **options: Any) -> int:
    """Publish whatever is pending with a short-lived relay (``options`` as for :class:`OutboxRelay`);
    returns how many entries it published."""
    with OutboxRelay(engine, bootstrap, **options) as relay:
        return relay.publish_pending()
