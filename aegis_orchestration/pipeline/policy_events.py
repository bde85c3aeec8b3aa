"""A policy's life as events: every status change and merge, in the policy's stream of the event store.

Each path that changes a policy's status (hot-path staging, the cold path, dedup archiving,
validation rejections, expiry), through :mod:`.trail`, appends a ``PolicyStatusChanged`` to
``policy-{id}`` in the same transaction as the ``UPDATE``, while it holds the row's lock; a
policy that gains source ids from deduplication gets a ``PolicySourcesMerged``. So the stream
is exactly the row's status history: ``aegis pipeline explain`` reads it, and
:class:`PolicyStatusHistory` projects it into the ``policy_status_history`` read model, whose
latest row per policy equals ``policies.status``.

Why beside the existing trail: ``processing_history`` and ``audit_logs`` are per-stage logs with
stage-specific shapes, and the outbox is purged after publication; none can rebuild a policy's
state. The events are written where those rows are written, so the logs stay as they were.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from aegis_orchestration.pipeline import tables
from aegis_orchestration.pipeline.upserts import insert_rows
from aegis_shared.eventstore import EventStore, NewEvent, RecordedEvent, project, rebuild

STREAM_PREFIX = "policy-"
STATUS_CHANGED = "PolicyStatusChanged"
SOURCES_MERGED = "PolicySourcesMerged"
APPEND_CHUNK = 2000


def stream_id(policy_id: str) -> str:
    return f"{STREAM_PREFIX}{policy_id}"


@dataclass(frozen=True)
class StatusChange:
    """One policy's status moving from ``previous`` (None for a new policy) to ``status``."""

    policy_id: str
    previous: str | None
    status: str
    version: int
    stage: str
    reasons: Sequence[Mapping[str, Any]]  # [{"code": ..., "message": ...}]
    run_id: str | None = None
    merged_into: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def event(self) -> tuple[str, NewEvent]:
        data = {
            "policy_id": self.policy_id,
            "previous_status": self.previous,
            "status": self.status,
            "version": self.version,
            "stage": self.stage,
            "reasons": [dict(r) for r in self.reasons],
            "merged_into": self.merged_into,
            **self.extra,
        }
        return stream_id(self.policy_id), NewEvent(STATUS_CHANGED, data, {"run_id": self.run_id})


def sources_merged(
    policy_id: str,
    *,
    version: int,
    status: str,
    added: Sequence[str],
    source_ids: Sequence[str],
    merges: Sequence[Mapping[str, Any]],
    stage: str,
    run_id: str | None,
) -> tuple[str, NewEvent]:
    """``added`` source ids joined ``policy_id`` (``merges``: the dedup evidence for each)."""
    data = {
        "policy_id": policy_id,
        "version": version,
        "status": status,
        "stage": stage,
        "added": sorted(added),
        "source_ids": sorted(source_ids),
        "merges": [dict(m) for m in merges],
    }
    return stream_id(policy_id), NewEvent(SOURCES_MERGED, data, {"run_id": run_id})


def record(connection: sa.Connection, events: Sequence[tuple[str, NewEvent]]) -> int:
    """Append ``events`` inside the caller's transaction (which holds the policies' row locks)."""
    store = EventStore(connection.engine)
    for start in range(0, len(events), APPEND_CHUNK):
        store.append_to_streams(events[start : start + APPEND_CHUNK], connection=connection)
    return len(events)


def record_changes(connection: sa.Connection, changes: Sequence[StatusChange]) -> int:
    return record(connection, [change.event() for change in changes])


def policy_events(
    engine: sa.Engine, policy_id: str, *, connection: sa.Connection | None = None
) -> list[RecordedEvent]:
    """The policy's stream, oldest first."""
    return EventStore(engine).get_events(stream_id(policy_id), connection=connection)


class PolicyStatusHistory:
    """Projection of the policy streams into ``policy_status_history`` (one row per status change)."""

    name = "policy_status_history"
    event_types: Collection[str] | None = (STATUS_CHANGED,)

    def reset(self, conn: sa.Connection) -> None:
        conn.execute(sa.delete(tables.policy_status_history))

    def apply(self, conn: sa.Connection, events: Sequence[RecordedEvent]) -> None:
        insert_rows(
            conn,
            tables.policy_status_history,
            [
                {
                    "policy_id": e.data["policy_id"],
                    "stream_version": e.stream_version,
                    "status": e.data["status"],
                    "previous_status": e.data.get("previous_status"),
                    "policy_version": e.data.get("version"),
                    "stage": e.data["stage"],
                    "reason_codes": [r["code"] for r in e.data.get("reasons") or []],
                    "merged_into": e.data.get("merged_into"),
                    "run_id": e.metadata.get("run_id"),
                    "changed_at": e.recorded_at.isoformat(),
                    "global_position": e.global_position,
                }
                for e in events
                if e.stream_id.startswith(STREAM_PREFIX)
            ],
        )


def update_status_history(engine: sa.Engine) -> int:
    """Bring ``policy_status_history`` up to date; returns how many events were read."""
    return project(EventStore(engine), PolicyStatusHistory())


def rebuild_status_history(engine: sa.Engine) -> int:
    """Rebuild ``policy_status_history`` from zero (one transaction); returns how many events were read."""
    return rebuild(EventStore(engine), PolicyStatusHistory())
