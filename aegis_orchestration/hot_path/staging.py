"""Staging one batch: policy upserts, their ``PolicyValidated`` events and DLQ records, atomically.

Everything a batch changes is written in the caller's single transaction:

* accepted records are bulk-upserted into ``policies`` as ``pending_validation``, but only when
  new or changed: ``ON CONFLICT (source, source_id) DO UPDATE ... WHERE content_hash IS DISTINCT``,
  so a row the cold path already processed with the same hash is never downgraded;
* a change to a served (``active``) policy does not take it out of serving: the new content is
  kept beside it in ``staged_content`` until the cold path decides on it;
* a record that is already closed (ended before today in Asia/Seoul, or closed by its source) is
  written ``archived`` with its reason, and a served policy it changes leaves serving at once:
  the lifecycle rule holds on this path too;
* each row written as pending, or staged, gets a ``PolicyValidated`` event in the outbox, keyed by
  its policy id and new version (deterministic: re-staging the same batch writes nothing);
* each refused record gets a DLQ entry in the outbox, keyed by its topic, partition and offset;
* each row whose status this batch set (new, re-opened, or archived because it closed) gets a
  ``PolicyStatusChanged`` in its event stream (a change staged beside a served policy changes no
  status, so it gets none).

``deleted_at`` is never touched: a soft delete is another service's decision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from aegis_orchestration.hot_path.intake import Accepted, Refused
from aegis_orchestration.pipeline import lifecycle, tables
from aegis_orchestration.pipeline.outbox import OutboxMessage, envelope_message, write_messages
from aegis_orchestration.pipeline.policy_events import StatusChange
from aegis_orchestration.pipeline.tables import ANNOUNCEMENT_COLUMNS, POLICY_COLUMNS
from aegis_orchestration.pipeline.trail import Transition, write_transitions
from aegis_orchestration.pipeline.upserts import bulk_insert, upsert_returning
from aegis_shared.config import get_settings
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
    staged_beside_active: int = 0
    archived: int = 0
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
            "staged_beside_active",
            "archived",
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
            "staged_beside_active": self.staged_beside_active,
            "archived": self.archived,
            "dead_lettered": self.dead_lettered,
            "dlq_by_code": dict(sorted(self.dlq_by_code.items())),
            "outbox_written": self.outbox_written,
        }


def _policy_row(item: Accepted, today: date) -> dict[str, Any]:
    a = item.announcement
    closed = lifecycle.closure_of(a, today)
    row: dict[str, Any] = {name: getattr(a, name) for name in ANNOUNCEMENT_COLUMNS}
    row.update(
        id=a.policy_id,
        source=a.source,
        source_id=a.source_id,
        source_ids=[a.policy_id],
        status=(PolicyStatus.ARCHIVED if closed else PolicyStatus.PENDING_VALIDATION).value,
        status_reason="; ".join(r.message for r in closed) if closed else _PENDING_REASON,
        quality_score=None,
        content_hash=a.content_hash,
        version=1,
    )
    return row


_PENDING_REASON = "validated by the hot path; the cold path scores it and decides"


def _upsert_statement() -> Any:
    t = tables.policies
    insert = bulk_insert(t, POLICY_COLUMNS)
    excluded = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[t.c.source, t.c.source_id],
        set_={
            **{name: excluded[name] for name in ANNOUNCEMENT_COLUMNS},
            "content_hash": excluded.content_hash,
            "status": excluded.status,
            "status_reason": excluded.status_reason,
            # The old score belongs to the old content; the cold path scores the new one.
            "quality_score": None,
            "staged_content": sa.null(),
            "staged_content_hash": sa.null(),
            "version": t.c.version + 1,
            "updated_at": sa.func.now(),
        },
        # Unchanged content leaves the row alone, whatever status the cold path gave it; a served
        # row is only ever replaced to archive it (its other changes are staged beside it).
        where=sa.and_(
            t.c.content_hash.is_distinct_from(excluded.content_hash),
            sa.or_(t.c.status != PolicyStatus.ACTIVE.value, excluded.status == PolicyStatus.ARCHIVED.value),
        ),
    ).returning(t.c.id, t.c.version)


def _stage_beside(beside: Sequence[Accepted]) -> sa.Update:
    """A change to a served policy waits beside it; the served columns stay as they are."""
    t = tables.policies
    v = tables.unnest(
        id=[i.announcement.policy_id for i in beside],
        content=[i.announcement.model_dump_json() for i in beside],
        hash=[i.announcement.content_hash for i in beside],
    )
    return (
        sa.update(t)
        .values(
            staged_content=sa.cast(v.c.content, JSONB),
            staged_content_hash=v.c.hash,
            version=t.c.version + 1,
            updated_at=sa.func.now(),
        )
        .where(
            t.c.id == v.c.id,
            t.c.status == PolicyStatus.ACTIVE.value,
            t.c.content_hash.is_distinct_from(v.c.hash),
            t.c.staged_content_hash.is_distinct_from(v.c.hash),
        )
        .returning(t.c.id, t.c.version)
    )


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
    today = lifecycle.as_of(get_settings())
    rows = {row["id"]: row for row in (_policy_row(item, today) for item in latest)}
    ids = list(rows)
    # Locked, so the cold path cannot activate a row between this read and the writes below.
    t = tables.policies
    served = (
        dict(
            connection.execute(
                sa.select(t.c.id, t.c.status)
                .where(t.c.id == sa.any_(tables.text_array(ids)))
                .order_by(t.c.id)
                .with_for_update()
            ).all()
        )
        if ids
        else {}
    )
    beside = [
        item
        for item in latest
        if served.get(item.announcement.policy_id) == PolicyStatus.ACTIVE.value
        and rows[item.announcement.policy_id]["status"] != PolicyStatus.ARCHIVED.value
    ]
    written: dict[str, int] = {}
    staged: dict[str, int] = {}
    if beside:
        staged = dict(connection.execute(_stage_beside(beside)).all())
    skip = {i.announcement.policy_id for i in beside}
    for policy_id, version in upsert_returning(
        connection, _upsert_statement(), [row for pid, row in rows.items() if pid not in skip]
    ):
        written[policy_id] = version
    messages: list[OutboxMessage] = []
    changes: list[Transition] = []
    for item in latest:
        policy_id = item.announcement.policy_id
        version = written.get(policy_id) or staged.get(policy_id)
        if version is None:
            report.unchanged += 1
            continue
        status = rows[policy_id]["status"]
        if policy_id in written and served.get(policy_id) != status:
            closed = lifecycle.closure_of(item.announcement, today)
            reasons = [r.as_dict() for r in closed] or [
                {"code": lifecycle.PENDING_COLD_PATH, "message": _PENDING_REASON}
            ]
            changes.append(
                Transition(
                    StatusChange(policy_id, served.get(policy_id), status, version, "hot_path", reasons)
                )
            )
        if policy_id in staged:
            report.staged_beside_active += 1
        if policy_id in served:
            report.updated += 1
        else:
            report.inserted += 1
        report.written_policy_ids.append(policy_id)
        if rows[policy_id]["status"] == PolicyStatus.ARCHIVED.value:
            report.archived += 1  # closed already: nothing is pending, so no PolicyValidated
            continue
        messages.append(validated_message(builder, item, version))
    for item in refused:
        messages.append(dlq_message(item, dlq_topic))
        report.dlq_by_code[item.code] += 1
    report.dead_lettered = len(refused)
    report.outbox_written = write_messages(connection, messages)
    # The hot path's trail is the event stream only: no audit or history row on the latency path.
    write_transitions(connection, changes)
    return report
