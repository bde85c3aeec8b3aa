"""Why a stored policy has its status: its row, its latest quality parts and its decision trail.

The trail is the policy's event stream (``policy-{id}`` in the event store): every status change
with its reasons, and every merge with its evidence, written by the path that made the decision in
the same transaction as the row (:mod:`aegis_orchestration.pipeline.policy_events`). A policy whose
row predates the event store has no stream; its trail comes from ``processing_history`` as before.
This module only reads. A ``source:source_id`` that was merged into another policy resolves to
that policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from aegis_orchestration.pipeline import tables
from aegis_orchestration.pipeline.policy_events import SOURCES_MERGED, policy_events
from aegis_shared.eventstore import RecordedEvent
from aegis_shared.models import PolicyStatus

_POLICY_COLUMNS = (
    "id",
    "title",
    "status",
    "status_reason",
    "source_ids",
    "region_codes",
    "period_start",
    "period_end",
    "period_open_ended",
    "period_note",
    "closed_by_source",
    "quality_score",
    "version",
    "deleted_at",
    "staged_content_hash",
)


def _policy(policy_id: str) -> sa.Select[Any]:
    t = tables.policies
    return sa.select(*(t.c[name] for name in _POLICY_COLUMNS)).where(t.c.id == policy_id)


def _holder(source_id: str) -> sa.Select[Any]:
    """The policy holding a source id, preferring one that is not itself archived."""
    t = tables.policies
    return (
        sa.select(t.c.id)
        .where(t.c.source_ids.contains([source_id]), t.c.id != source_id)
        .order_by(t.c.status == PolicyStatus.ARCHIVED.value, t.c.id)
        .limit(1)
    )


def _metrics(policy_id: str) -> sa.Select[Any]:
    m = tables.quality_metrics
    return (
        sa.select(m.c.completeness, m.c.accuracy, m.c.consistency, m.c.timeliness, m.c.total, m.c.measured_at)
        .where(m.c.policy_id == policy_id)
        .order_by(m.c.id.desc())
        .limit(1)
    )


def _history(policy_id: str) -> sa.Select[Any]:
    h = tables.processing_history
    return (
        sa.select(h.c.stage, h.c.status, h.c.details, h.c.run_id, h.c.created_at)
        .where(h.c.policy_id == policy_id)
        .order_by(h.c.created_at, h.c.id)
    )


@dataclass(frozen=True)
class Step:
    at: datetime
    stage: str
    status: str
    reasons: list[str]
    details: dict[str, Any]
    event: str | None = None  # the event type, when the step comes from the policy's stream
    stream_version: int | None = None


@dataclass(frozen=True)
class Explanation:
    asked: str
    policy: dict[str, Any]
    quality: dict[str, Any] | None
    trail: list[Step]
    trail_source: str = "event_store"  # or "processing_history" for a policy older than its stream

    @property
    def policy_id(self) -> str:
        return str(self.policy["id"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "policy": {k: _plain(v) for k, v in self.policy.items()},
            "quality": {k: _plain(v) for k, v in self.quality.items()} if self.quality else None,
            "trail_source": self.trail_source,
            "trail": [
                {
                    "at": s.at.isoformat(),
                    "event": s.event,
                    "stream_version": s.stream_version,
                    "stage": s.stage,
                    "status": s.status,
                    "reasons": s.reasons,
                    "details": s.details,
                }
                for s in self.trail
            ],
        }


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _reasons(details: dict[str, Any]) -> list[str]:
    messages = [r["message"] for r in details.get("reasons") or [] if isinstance(r, dict)]
    messages += [
        f"{m['member']} merged in (same {', '.join(m['matched'])})" for m in details.get("merges") or []
    ]
    if not messages and details.get("merged_into"):
        messages.append(f"merged into {details['merged_into']}")
    return messages


def _step(event: RecordedEvent) -> Step:
    data = event.data
    reasons = _reasons(data)
    if event.event_type == SOURCES_MERGED and not reasons:
        reasons = [f"{', '.join(data.get('added') or [])} merged in"]
    return Step(
        event.recorded_at,
        str(data.get("stage", "")),
        str(data.get("status", "")),
        reasons,
        data,
        event.event_type,
        event.stream_version,
    )


def explain(engine: sa.Engine, policy_id: str) -> Explanation | None:
    """Why ``policy_id`` (or the policy a ``source:source_id`` joined) has its status; None if unknown."""
    with engine.connect() as conn:
        row = conn.execute(_policy(policy_id)).mappings().first()
        if row is None:  # a source id that never had a row of its own: the policy it joined
            holder = conn.execute(_holder(policy_id)).scalar()
            if holder is not None:
                row = conn.execute(_policy(holder)).mappings().first()
        if row is None:
            return None
        metrics = conn.execute(_metrics(row["id"])).mappings().first()
        events = policy_events(engine, row["id"], connection=conn)
        history = [] if events else conn.execute(_history(row["id"])).mappings().all()
    quality = dict(metrics) if metrics else None
    if events:
        return Explanation(policy_id, dict(row), quality, [_step(e) for e in events])
    trail = [
        Step(h["created_at"], h["stage"], h["status"], _reasons(h["details"] or {}), h["details"] or {})
        for h in history
    ]
    return Explanation(policy_id, dict(row), quality, trail, "processing_history")
