"""The status-change trail: everything written when a policy's status changes, in one place.

Why: a status must always be explainable, and every path that changes one (the cold path,
dedup archiving, expiry, validation, hot-path staging) used to spell its own rows. Here one
:class:`Transition` per change writes, inside the caller's transaction (which holds the rows'
locks):

* a ``PolicyStatusChanged`` in the policy's event stream (always: ``aegis pipeline explain`` and
  the ``policy_status_history`` projection read it, see :mod:`.policy_events`);
* a ``status_changed`` row in ``audit_logs`` when the stage has an ``actor`` (the batch stages do;
  hot-path staging and validation leave their changes to the stream, as before);
* a ``processing_history`` row when the stage gives ``history`` details (the cold path writes a
  history row for every written policy, status change or not, so it passes none here);
* a ``PolicyQualityUpdated`` in the transactional outbox when the change carries ``quality``
  (a judgement others act on: the cold path's and expiry's), deduplicated per policy version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import sqlalchemy as sa

from aegis_orchestration.pipeline import tables
from aegis_orchestration.pipeline.outbox import OutboxMessage, event_message, write_messages
from aegis_orchestration.pipeline.policy_events import StatusChange, record_changes
from aegis_orchestration.pipeline.upserts import insert_rows
from aegis_shared.messaging import EventPublisher

QUALITY_UPDATED = "PolicyQualityUpdated"


class QualityUpdate(TypedDict):
    """The ``PolicyQualityUpdated`` payload of a status change."""

    policy_id: str
    previous_status: str
    status: str
    quality_score: float
    scores: dict[str, float]


@dataclass(frozen=True)
class Transition:
    """One status change and what explains it; see the module docstring for what each part writes."""

    change: StatusChange
    actor: str | None = None
    audit: Mapping[str, Any] = field(default_factory=dict)  # new_values beside status and version
    history: Mapping[str, Any] | None = None  # processing_history details
    quality: QualityUpdate | None = None

    def audit_row(self) -> dict[str, Any]:
        c = self.change
        return {
            "entity_type": "policy",
            "entity_id": c.policy_id,
            "action": "status_changed",
            "actor": self.actor,
            "old_values": {"status": c.previous},
            "new_values": {"status": c.status, "version": c.version, **self.audit},
        }

    def history_row(self) -> dict[str, Any]:
        c = self.change
        return {
            "policy_id": c.policy_id,
            "stage": c.stage,
            "status": c.status,
            "run_id": c.run_id,
            "details": dict(self.history or {}),
        }


def quality_event(events: EventPublisher, update: Mapping[str, Any], version: int) -> OutboxMessage:
    """A status change's ``PolicyQualityUpdated`` for the outbox: one event per policy version."""
    policy_id = str(update["policy_id"])
    return event_message(
        events, QUALITY_UPDATED, update, key=policy_id, dedupe_key=f"{QUALITY_UPDATED}:{policy_id}:v{version}"
    )


def write_transitions(
    connection: sa.Connection, transitions: Sequence[Transition], *, events: EventPublisher | None = None
) -> int:
    """Write the trail of ``transitions`` in the caller's transaction; returns new outbox events."""
    if not transitions:
        return 0
    insert_rows(
        connection, tables.processing_history, [t.history_row() for t in transitions if t.history is not None]
    )
    insert_rows(connection, tables.audit_logs, [t.audit_row() for t in transitions if t.actor is not None])
    record_changes(connection, [t.change for t in transitions])
    if events is None:
        return 0
    return write_messages(
        connection,
        [quality_event(events, t.quality, t.change.version) for t in transitions if t.quality is not None],
    )
