"""Expiry: active policies whose application period has ended leave the serving set.

A policy is judged when it is scored, but time keeps moving: a programme that closed yesterday
must stop being recommended today. Expiry archives every active policy that the lifecycle rule
says is closed on the as-of day (Asia/Seoul): its period ended before that day, or its source
closed it. It leaves the same trail a status change
in the cold path leaves: a version bump, a ``processing_history`` row, an ``audit_logs`` row, a
``PolicyStatusChanged`` in the policy's event stream and a ``PolicyQualityUpdated`` event in the
transactional outbox. The store syncs then delete them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from aegis_orchestration.pipeline.lifecycle import StatusReason, closure
from aegis_orchestration.pipeline.outbox import OutboxMessage, write_messages
from aegis_orchestration.pipeline.policies import quality_event
from aegis_orchestration.pipeline.policy_events import StatusChange, record_changes
from aegis_orchestration.pipeline.quality import DIMENSIONS
from aegis_orchestration.pipeline.upserts import insert_rows
from aegis_shared.messaging import EventPublisher
from aegis_shared.models import PolicyStatus

STAGE = "expiry"
ACTOR = "aegis-expiry"

# Due rows are read locked, so a concurrent cold-path write is waited for and the row re-checked,
# and a second run finds nothing left to archive. Which rows are due, and why, is the lifecycle
# rule's call (lifecycle.closure); this query only narrows the candidates by index.
_DUE = sa.text(
    """
    SELECT id, source, status, period_end, closed_by_source, quality_score FROM policies
    WHERE status = :active AND deleted_at IS NULL AND (period_end < :as_of OR closed_by_source)
    ORDER BY id
    FOR UPDATE
    """
)
_ARCHIVE = sa.text(
    """
    UPDATE policies p SET status = :archived, status_reason = v.reason, updated_at = now(),
        version = p.version + 1
    FROM unnest(CAST(:ids AS text[]), CAST(:reasons AS text[])) AS v(id, reason)
    WHERE p.id = v.id
    RETURNING p.id, p.version
    """
)

# The scores behind each policy's last judgement, repeated in its event (the schema requires them).
_LATEST_SCORES = sa.text(
    """
    SELECT DISTINCT ON (policy_id) policy_id, completeness, accuracy, consistency, timeliness, total
    FROM quality_metrics WHERE policy_id = ANY(:ids)
    ORDER BY policy_id, id DESC
    """
)


@dataclass(frozen=True)
class _Archived:
    id: str
    previous_status: str
    version: int
    quality_score: float | None
    period_end: date | None
    reasons: tuple[StatusReason, ...]


@dataclass
class ExpiryReport:
    as_of: date
    archived: list[str] = field(default_factory=list)
    events: int = 0


def expire_policies(
    engine: sa.Engine, as_of: date, *, run_id: str | None, events: EventPublisher | None = None
) -> ExpiryReport:
    """Archive active policies whose period ended before ``as_of``; everything in one transaction.

    With ``events``, each change's ``PolicyQualityUpdated`` is written to the outbox with the rows.
    """
    report = ExpiryReport(as_of=as_of)
    with engine.begin() as conn:
        due = conn.execute(_DUE, {"active": PolicyStatus.ACTIVE.value, "as_of": as_of}).all()
        why = {
            row.id: closure(
                period_end=row.period_end,
                closed_by_source=row.closed_by_source,
                source=row.source,
                today=as_of,
            )
            for row in due
        }
        due = [row for row in due if why[row.id]]
        if not due:
            return report
        versions = dict(
            conn.execute(
                _ARCHIVE,
                {
                    "archived": PolicyStatus.ARCHIVED.value,
                    "ids": [row.id for row in due],
                    "reasons": ["; ".join(r.message for r in why[row.id]) for row in due],
                },
            ).all()
        )
        archived = [
            _Archived(row.id, row.status, versions[row.id], row.quality_score, row.period_end, why[row.id])
            for row in due
        ]
        report.archived = [row.id for row in archived]
        insert_rows(
            conn,
            "processing_history",
            [
                {
                    "policy_id": row.id,
                    "stage": STAGE,
                    "status": PolicyStatus.ARCHIVED.value,
                    "run_id": run_id,
                    "details": {
                        "version": row.version,
                        "previous_status": row.previous_status,
                        "reason": row.reasons[0].code,
                        "reasons": [r.as_dict() for r in row.reasons],
                        "period_end": row.period_end.isoformat() if row.period_end else None,
                        "as_of": as_of.isoformat(),
                    },
                }
                for row in archived
            ],
        )
        record_changes(
            conn,
            [
                StatusChange(
                    row.id,
                    row.previous_status,
                    PolicyStatus.ARCHIVED.value,
                    row.version,
                    STAGE,
                    [r.as_dict() for r in row.reasons],
                    run_id=run_id,
                    extra={
                        "period_end": row.period_end.isoformat() if row.period_end else None,
                        "as_of": as_of.isoformat(),
                    },
                )
                for row in archived
            ],
        )
        insert_rows(
            conn,
            "audit_logs",
            [
                {
                    "entity_type": "policy",
                    "entity_id": row.id,
                    "action": "status_changed",
                    "actor": ACTOR,
                    "old_values": {"status": row.previous_status},
                    "new_values": {
                        "status": PolicyStatus.ARCHIVED.value,
                        "version": row.version,
                        "reason": "; ".join(r.message for r in row.reasons),
                    },
                }
                for row in archived
            ],
        )
        if events is not None:
            scores = {
                row.policy_id: row._asdict()
                for row in conn.execute(_LATEST_SCORES, {"ids": report.archived}).all()
            }
            messages = [_event(events, row, scores.get(row.id)) for row in archived]
            report.events = write_messages(conn, messages)
    return report


def _event(events: EventPublisher, row: Any, scores: dict[str, Any] | None) -> OutboxMessage:
    total = row.quality_score if row.quality_score is not None else (scores or {}).get("total", 0.0)
    transition = {
        "policy_id": row.id,
        "previous_status": row.previous_status,
        "status": PolicyStatus.ARCHIVED.value,
        "quality_score": float(total),
        # A policy activated without a metrics row (none today) reports its total in each dimension.
        "scores": {d: float(scores[d]) if scores else float(total) for d in DIMENSIONS},
    }
    return quality_event(events, transition, row.version)
