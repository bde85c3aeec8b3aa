"""Expiry: active policies whose application period has ended leave the serving set.

A policy is judged when it is scored, but time keeps moving: a programme that closed yesterday
must stop being recommended today. Expiry archives every active policy that the lifecycle rule
says is closed on the as-of day (Asia/Seoul): its period ended before that day, or its source
closed it. It bumps the version and leaves the status-change trail of :mod:`.trail` (a
``processing_history`` row, an ``audit_logs`` row, a ``PolicyStatusChanged`` in the policy's
event stream and a ``PolicyQualityUpdated`` event in the transactional outbox). The store syncs
then delete them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on

from aegis_orchestration.pipeline import tables
from aegis_orchestration.pipeline.lifecycle import StatusReason, closure
from aegis_orchestration.pipeline.policies import archive_statement
from aegis_orchestration.pipeline.policy_events import StatusChange
from aegis_orchestration.pipeline.quality import DIMENSIONS
from aegis_orchestration.pipeline.trail import QualityUpdate, Transition, write_transitions
from aegis_shared.messaging import EventPublisher
from aegis_shared.models import PolicyStatus

STAGE = "expiry"
ACTOR = "aegis-expiry"


# Due rows are read locked, so a concurrent cold-path write is waited for and the row re-checked,
# and a second run finds nothing left to archive. Which rows are due, and why, is the lifecycle
# rule's call (lifecycle.closure); this query only narrows the candidates by index.
def _due(as_of: date) -> sa.Select[Any]:
    t = tables.policies
    return (
        sa.select(t.c.id, t.c.source, t.c.status, t.c.period_end, t.c.closed_by_source, t.c.quality_score)
        .where(
            t.c.status == PolicyStatus.ACTIVE.value,
            t.c.deleted_at.is_(None),
            sa.or_(t.c.period_end < as_of, t.c.closed_by_source),
        )
        .order_by(t.c.id)
        .with_for_update()
    )


def _latest_scores(ids: list[str]) -> sa.Select[Any]:
    """The scores behind each policy's last judgement, repeated in its event (the schema requires them)."""
    m = tables.quality_metrics
    return (
        sa.select(m.c.policy_id, *(m.c[d] for d in DIMENSIONS), m.c.total)
        .ext(distinct_on(m.c.policy_id))
        .where(m.c.policy_id == sa.any_(tables.text_array(ids)))
        .order_by(m.c.policy_id, m.c.id.desc())
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
        due = conn.execute(_due(as_of)).all()
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
        reasons = ["; ".join(r.message for r in why[row.id]) for row in due]
        updated = conn.execute(archive_statement([row.id for row in due], reasons)).all()
        versions = {row.id: row.version for row in updated}
        archived = [
            _Archived(row.id, row.status, versions[row.id], row.quality_score, row.period_end, why[row.id])
            for row in due
        ]
        report.archived = [row.id for row in archived]
        scores: dict[str, dict[str, Any]] = {}
        if events is not None:
            scores = {
                row.policy_id: row._asdict() for row in conn.execute(_latest_scores(report.archived)).all()
            }
        transitions = [_transition(row, as_of, run_id, scores.get(row.id)) for row in archived]
        report.events = write_transitions(conn, transitions, events=events)
    return report


def _transition(row: _Archived, as_of: date, run_id: str | None, scores: dict[str, Any] | None) -> Transition:
    period_end = row.period_end.isoformat() if row.period_end else None
    reasons = [r.as_dict() for r in row.reasons]
    return Transition(
        StatusChange(
            row.id,
            row.previous_status,
            PolicyStatus.ARCHIVED.value,
            row.version,
            STAGE,
            reasons,
            run_id=run_id,
            extra={"period_end": period_end, "as_of": as_of.isoformat()},
        ),
        actor=ACTOR,
        audit={"reason": "; ".join(r.message for r in row.reasons)},
        history={
            "version": row.version,
            "previous_status": row.previous_status,
            "reason": row.reasons[0].code,
            "reasons": reasons,
            "period_end": period_end,
            "as_of": as_of.isoformat(),
        },
        quality=_quality(row, scores),
    )


def _quality(row: _Archived, scores: dict[str, Any] | None) -> QualityUpdate:
    total = row.quality_score if row.quality_score is not None else (scores or {}).get("total", 0.0)
    return {
        "policy_id": row.id,
        "previous_status": row.previous_status,
        "status": PolicyStatus.ARCHIVED.value,
        "quality_score": float(total),
        # A policy activated without a metrics row (none today) reports its total in each dimension.
        "scores": {d: float(scores[d]) if scores else float(total) for d in DIMENSIONS},
    }
