"""Landing one collection in PostgreSQL: new versions of records, and every rejected item.

**Change detection.** A record is new when its content hash differs from the *latest* stored
version of its (source, source_id), latest meaning ``collected_at DESC, id DESC`` (the order the
cold path's ``load_collected`` reads). So a source that changes A → B → A lands three rows and
the latest is A again, while re-collecting an unchanged record lands nothing.

**Concurrency.** Two partitions may land the same key at once (a backfill runs days in parallel).
Each transaction first takes a transaction-scoped advisory lock per key, in one global order so
two batches cannot deadlock, and only then compares and inserts. Under READ COMMITTED the insert's
snapshot is taken after the locks are granted, so the second writer sees the first one's rows and
inserts nothing for an unchanged key.

**Rejections.** Every item a connector refused is kept in ``collection_rejections`` with its
DP code, reason and original bytes, and its DLQ message (the original bytes plus ``error-code``
and ``error-reason`` headers) is written to the transactional outbox in the same transaction.
A stable ``dedupe_key`` makes re-collecting the same refusal a no-op for both.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from aegis_orchestration.pipeline.outbox import OutboxMessage, write_messages
from aegis_orchestration.sources.page import SourceRejection
from aegis_shared.logging.redaction import mask_text
from aegis_shared.models import Announcement

INSERT_CHUNK = 500
MAX_REASON_LENGTH = 1000

_LOCK_KEYS = sa.text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM ("
    "  SELECT DISTINCT hashtextextended(v.source || ':' || v.source_id, 0) AS k"
    "  FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) AS v(source, source_id)"
    "  ORDER BY k"
    ") AS keys"
)

_INSERT_CHANGED = sa.text(
    """
    INSERT INTO raw_announcements (source, source_id, content_hash, payload, partition_date, collected_at)
    SELECT v.source, v.source_id, v.content_hash, CAST(v.payload AS jsonb), :partition_date, v.collected_at
    FROM unnest(
        CAST(:sources AS text[]), CAST(:ids AS text[]), CAST(:hashes AS text[]),
        CAST(:payloads AS text[]), CAST(:collected AS timestamptz[])
    ) AS v(source, source_id, content_hash, payload, collected_at)
    WHERE v.content_hash IS DISTINCT FROM (
        SELECT r.content_hash FROM raw_announcements r
        WHERE r.source = v.source AND r.source_id = v.source_id
        ORDER BY r.collected_at DESC, r.id DESC
        LIMIT 1
    )
    RETURNING source, source_id, content_hash
    """
)

_INSERT_REJECTIONS = sa.text(
    """
    INSERT INTO collection_rejections
        (source, source_id, code, reason, original, partition_date, run_id, dedupe_key)
    SELECT v.source, v.source_id, v.code, v.reason, decode(v.original, 'base64'), :partition_date,
           :run_id, v.key
    FROM unnest(
        CAST(:sources AS text[]), CAST(:ids AS text[]), CAST(:codes AS text[]),
        CAST(:reasons AS text[]), CAST(:originals AS text[]), CAST(:keys AS text[])
    ) AS v(source, source_id, code, reason, original, key)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING dedupe_key
    """
)


def latest_per_key(records: Sequence[Announcement]) -> list[Announcement]:
    """One record per (source, source_id): the last one seen (a list read twice may repeat it)."""
    by_key: dict[tuple[str, str], Announcement] = {}
    for record in records:
        by_key.pop((record.source, record.source_id), None)
        by_key[(record.source, record.source_id)] = record
    return list(by_key.values())


def lock_keys(connection: sa.Connection, keys: Sequence[tuple[str, str]]) -> None:
    """Take the per-key advisory locks (held until the caller's transaction ends)."""
    if keys:
        connection.execute(_LOCK_KEYS, {"sources": [s for s, _ in keys], "ids": [i for _, i in keys]})


def insert_changed(
    connection: sa.Connection, records: Sequence[Announcement], partition_date: date
) -> list[Announcement]:
    """Land each record whose hash differs from its latest stored version; return those landed.

    Runs inside the caller's transaction, which holds the per-key locks until it commits.
    """
    latest = latest_per_key(records)
    if not latest:
        return []
    lock_keys(connection, sorted({(r.source, r.source_id) for r in latest}))
    by_key = {(r.source, r.source_id, r.content_hash): r for r in latest}
    inserted: list[Announcement] = []
    for start in range(0, len(latest), INSERT_CHUNK):
        chunk = latest[start : start + INSERT_CHUNK]
        rows = connection.execute(
            _INSERT_CHANGED,
            {
                "partition_date": partition_date,
                "sources": [r.source for r in chunk],
                "ids": [r.source_id for r in chunk],
                "hashes": [r.content_hash for r in chunk],
                "payloads": [json.dumps(r.model_dump(mode="json"), ensure_ascii=False) for r in chunk],
                "collected": [r.collected_at for r in chunk],
            },
        )
        inserted += [by_key[(source, source_id, content_hash)] for source, source_id, content_hash in rows]
    return inserted


def rejection_key(rejection: SourceRejection) -> str:
    """Stable key of one refusal: the item, what was wrong with it, and its bytes."""
    canonical = json.dumps(
        [
            rejection.source,
            rejection.source_id,
            rejection.code,
            rejection.reason,
            hashlib.sha256(rejection.original_bytes()).hexdigest(),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"collection:{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


@dataclass(frozen=True, slots=True)
class RejectionsLanded:
    recorded: int  # new rows in collection_rejections
    dead_lettered: int  # new DLQ messages in the outbox


def dlq_message(
    rejection: SourceRejection, key: str, *, dlq_topic: str, partition_date: date
) -> OutboxMessage:
    """The DLQ outbox entry of one refused item: its original bytes with the error headers."""
    headers = (
        ("error-code", rejection.code.encode()),
        ("error-reason", mask_text(rejection.reason)[:MAX_REASON_LENGTH].encode()),
        ("original-source", rejection.source.encode()),
        ("original-source-id", (rejection.source_id or "").encode()),
        ("partition-date", partition_date.isoformat().encode()),
        ("stage", b"collection"),
        ("retry-count", b"0"),
    )
    return OutboxMessage(
        dedupe_key=f"dlq:{key}",
        kind="dlq",
        topic=dlq_topic,
        key=f"{rejection.source}:{rejection.source_id}".encode() if rejection.source_id else None,
        payload=rejection.original_bytes(),
        headers=headers,
        error_code=rejection.code,
    )


def record_rejections(
    connection: sa.Connection,
    rejections: Sequence[SourceRejection],
    *,
    partition_date: date,
    run_id: str | None,
    dlq_topic: str,
) -> RejectionsLanded:
    """Keep every refused item and queue its DLQ message, inside the caller's transaction."""
    if not rejections:
        return RejectionsLanded(0, 0)
    unique = {rejection_key(r): r for r in rejections}
    keys = list(unique)
    new_keys = set(
        connection.execute(
            _INSERT_REJECTIONS,
            {
                "partition_date": partition_date,
                "run_id": run_id,
                "sources": [unique[k].source for k in keys],
                "ids": [unique[k].source_id for k in keys],
                "codes": [unique[k].code for k in keys],
                "reasons": [unique[k].reason for k in keys],
                "originals": [base64.b64encode(unique[k].original_bytes()).decode("ascii") for k in keys],
                "keys": keys,
            },
        ).scalars()
    )
    messages = [
        dlq_message(unique[k], k, dlq_topic=dlq_topic, partition_date=partition_date)
        for k in keys
        if k in new_keys
    ]
    written = write_messages(connection, messages) if messages else 0
    return RejectionsLanded(len(new_keys), written)
