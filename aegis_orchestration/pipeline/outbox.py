"""The transactional outbox: Kafka messages written with the rows they describe, published after.

Why: a job that commits rows and then publishes can die in between. Writing the finished Kafka
message (topic, key, exact bytes, headers) into ``event_outbox`` in the rows' own transaction
makes "the row exists" and "its message will be published" one atomic fact. Each message has a
deterministic ``dedupe_key``, so writing it again (a retried run) is a no-op.

:class:`OutboxRelay` publishes unpublished entries in id order and marks them published once the
broker acknowledged them. Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so concurrent relays
(two runs, or a run and ``aegis hot-path serve``) never publish the same entry twice. The one
remaining window, a crash after the broker's ack and before the mark commits, re-sends the same
bytes with the same ``eventId``; consumers drop such repeats by event id.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert

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

INSERT_CHUNK = 1000


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
    """Add ``messages`` inside the caller's transaction; returns how many were new."""
    written = 0
    rows = [m.row() for m in messages]
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = (
            pg_insert(outbox_table)
            .values(rows[start : start + INSERT_CHUNK])
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(outbox_table.c.id)
        )
        written += len(connection.execute(statement).all())
    return written


def pending_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM event_outbox WHERE published_at IS NULL")
        return int(conn.execute(query).scalar_one())


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
    ) -> None:
        self.engine = engine
        self.claim_size = claim_size
        self.timeout = timeout
        # The publisher's own reliability settings (idempotence, acks=all, lz4, linger) apply here too.
        self._producer = Producer(
            {**DEFAULT_PRODUCER_CONFIG, "linger.ms": 2, **(config or {}), "bootstrap.servers": bootstrap}
        )

    def publish_pending(self) -> int:
        """Publish every unpublished entry (in id order); returns how many this call published.

        Raises EXT_5012 if the broker refused or did not acknowledge a message; the claimed
        entries then stay unpublished and the next call sends them again.
        """
        total = 0
        while True:
            published = self._publish_claim()
            total += published
            if published < self.claim_size:
                return total

    def _publish_claim(self) -> int:
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, topic, message_key, payload, headers FROM event_outbox "
                    "WHERE published_at IS NULL ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
                ),
                {"n": self.claim_size},
            ).all()
            if not rows:
                return 0
            failures: list[str] = []

            def report(err: KafkaError | None, _msg: Message) -> None:
                if err is not None:
                    failures.append(str(err))

            for row in rows:
                self._produce(
                    row.topic,
                    bytes(row.payload),
                    bytes(row.message_key) if row.message_key is not None else None,
                    decode_headers(row.headers),
                    report,
                )
            remaining = self._producer.flush(self.timeout)
            if failures or remaining:
                # Raising rolls back the claim: the entries stay unpublished for the next attempt.
                raise ExternalServiceError(
                    "EXT_5012",
                    f"outbox: {len(failures)} message(s) refused, {remaining} unacknowledged after "
                    f"{self.timeout}s",
                    details={"errors": failures[:10], "claimed": len(rows)},
                )
            conn.execute(
                sa.text("UPDATE event_outbox SET published_at = now() WHERE id = ANY(:ids)"),
                {"ids": [row.id for row in rows]},
            )
        return len(rows)

    def _produce(
        self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]], report: Any
    ) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers, on_delivery=report)
                return
            except BufferError:
                # Local queue full: serve delivery reports until librdkafka has room.
                self._producer.poll(0.05)
            except KafkaException as exc:
                raise ExternalServiceError(
                    "EXT_5012", f"outbox: could not enqueue to {topic}: {exc}", details={"topic": topic}
                ) from exc

    def close(self) -> None:
        """Wait for anything in flight (normally nothing: every claim flushes)."""
        self._producer.flush(self.timeout)

    def __enter__(self) -> OutboxRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
