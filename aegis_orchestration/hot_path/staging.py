"""Staging one batch: policy upserts, their ``PolicyValidated`` events and DLQ records, atomically.

Everything a batch changes is written in the caller's single transaction:

* accepted records are bulk-upserted into ``policies`` as ``pending_validation``, but only when
  new or changed: ``ON CONFLICT (source, source_id) DO UPDATE ... WHERE content_hash IS DISTINCT``,
  so a row the cold path already processed with the same hash is never downgraded;
* each row actually written gets a ``PolicyValidated`` event in the outbox, keyed by its policy
  id and new version (deterministic: re-staging the same batch writes nothing);
* each refused record gets a DLQ entry in the outbox, keyed by its topic, partition and offset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from aegis_orchestration.hot_path.intake import Accepted, Refused
from aegis_orchestration.pipeline.outbox import OutboxMessage, envelope_message, write_messages
from aegis_orchestration.pipeline.policies import ANNOUNCEMENT_COLUMNS, POLICY_COLUMNS
from aegis_orchestration.pipeline.upserts import bulk_insert, policies_table, upsert_returning
from aegis_shared.logging.redaction import mask_text
from aegis_shared.messaging import EventPublisher
from aegis_shared.models import PolicyStatus

EVENT_TYPE = "PolicyValidated"
MAX_REASON_LENGTH = 1000


@dataclass(slots=True)
class StageReport:
    """What staging one batch did. ``records`` = accepted + dead-lettered."""

    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded_in_batch: int = 0
    dead_lettered: int = 0
    dlq_by_code: Counter[str] = field(default_factory=Counter)
    outbox_written: int = 0
    written_policy_ids: list[str] = field(default_factory=list)

    def merge(self, other: StageReport) -> None:
        for name in (
            "records",
            "inserted",
            "updated",
            "unchanged",
            "superseded_in_batch",
            "dead_lettered",
            "outbox_written",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dlq_by_code.update(other.dlq_by_code)
        self.written_policy_ids.extend(other.written_policy_ids)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "superseded_in_batch": self.superseded_in_batch,
            "dead_lettered": self.dead_lettered,
            "dlq_by_code": dict(sorted(self.dlq_by_code.items())),
            "outbox_written": self.outbox_written,
        }


def _policy_row(item: Accepted) -> dict[str, Any]:
    a = item.announcement
    row: dict[str, Any] = {name: getattr(a, name) for name in ANNOUNCEMENT_COLUMNS}
    row.update(
        id=a.policy_id,
        source=a.source,
        source_id=a.source_id,
        source_ids=[a.policy_id],
        status=PolicyStatus.PENDING_VALIDATION.value,
        quality_score=None,
        content_hash=a.content_hash,
        version=1,
    )
    return row


def _upsert_statement() -> Any:
    insert = bulk_insert(policies_table, POLICY_COLUMNS)
    excluded = insert.excluded
    t = policies_table
    return insert.on_conflict_do_update(
        index_elements=[t.c.source, t.c.source_id],
        set_={
            **{name: excluded[name] for name in ANNOUNCEMENT_COLUMNS},
            "content_hash": excluded.content_hash,
            "status": PolicyStatus.PENDING_VALIDATION.value,
            # The old score belongs to the old content; the cold path scores the new one.
            "quality_score": None,
            "version": t.c.version + 1,
            "updated_at": sa.func.now(),
            "deleted_at": None,
        },
        # Unchanged content leaves the row alone, whatever status the cold path gave it.
        where=t.c.content_hash.is_distinct_from(excluded.content_hash),
    ).returning(t.c.id, t.c.version)


def _latest_per_policy(accepted: Sequence[Accepted]) -> list[Accepted]:
    """One record per policy, the last in log order (one INSERT cannot touch a row twice)."""
    latest: dict[str, Accepted] = {}
    for item in accepted:
        latest.pop(item.announcement.policy_id, None)  # re-insert so order follows the last occurrence
        latest[item.announcement.policy_id] = item
    return list(latest.values())


def validated_message(builder: EventPublisher, item: Accepted, version: int) -> OutboxMessage:
    """The ``PolicyValidated`` event of a written row, validated and enveloped now."""
    a = item.announcement
    envelope = builder.build(
        EVENT_TYPE,
        {
            "policy_id": a.policy_id,
            "source": a.source,
            "source_id": a.source_id,
            "content_hash": a.content_hash,
            "status": PolicyStatus.PENDING_VALIDATION.value,
            "version": version,
            "title": a.title,
            "processing_path": "hot",
            "validated_at": datetime.now(UTC).isoformat(),
        },
        correlation_id=item.envelope.correlation_id,
        causation_id=str(item.envelope.event_id),
    )
    return envelope_message(
        envelope,
        topic=builder.topic_for(envelope),
        key=a.policy_id,
        dedupe_key=f"{EVENT_TYPE}:{a.policy_id}:v{version}",
        source_topic=item.record.topic,
        source_partition=item.record.partition,
        source_offset=item.record.offset,
    )


def dlq_message(refused: Refused, dlq_topic: str) -> OutboxMessage:
    """A DLQ entry: the original bytes, key and headers plus the error headers the consumer uses."""
    r = refused.record
    headers = (
        *r.headers,
        ("error-code", refused.code.encode()),
        ("error-reason", mask_text(refused.reason)[:MAX_REASON_LENGTH].encode()),
        ("original-topic", r.topic.encode()),
        ("original-partition", str(r.partition).encode()),
        ("original-offset", str(r.offset).encode()),
        ("retry-count", b"0"),
    )
    return OutboxMessage(
        dedupe_key=f"dlq:{r.topic}:{r.partition}:{r.offset}",
        kind="dlq",
        topic=dlq_topic,
        key=r.key,
        payload=r.value or b"",
        headers=headers,
        error_code=refused.code,
        source_topic=r.topic,
        source_partition=r.partition,
        source_offset=r.offset,
    )


def stage(
    connection: sa.Connection,
    accepted: Sequence[Accepted],
    refused: Sequence[Refused],
    *,
    builder: EventPublisher,
    dlq_topic: str,
) -> StageReport:
    """Write one batch inside the caller's transaction; see the module docstring."""
    report = StageReport(records=len(accepted) + len(refused))
    latest = _latest_per_policy(accepted)
    report.superseded_in_batch = len(accepted) - len(latest)
    written: dict[str, int] = {}
    rows = [_policy_row(item) for item in latest]
    ids = [row["id"] for row in rows]
    existing = (
        set(
            connection.execute(
                sa.text("SELECT id FROM policies WHERE id = ANY(:ids)"), {"ids": ids}
            ).scalars()
        )
        if ids
        else set()
    )
    for policy_id, version in upsert_returning(connection, _upsert_statement(), rows):
        written[policy_id] = version
    messages: list[OutboxMessage] = []
    for item in latest:
        policy_id = item.announcement.policy_id
        version = written.get(policy_id)
        if version is None:
            report.unchanged += 1
            continue
        if policy_id in existing:
            report.updated += 1
        else:
            report.inserted += 1
        report.written_policy_ids.append(policy_id)
        messages.append(validated_message(builder, item, version))
    for item in refused:
        messages.append(dlq_message(item, dlq_topic))
        report.dlq_by_code[item.code] += 1
    report.dead_lettered = len(refused)
    report.outbox_written = write_messages(connection, messages)
    return report
