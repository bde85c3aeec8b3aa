"""PostgreSQL side of the pipeline: read collected records, upsert policies, keep the history.

PostgreSQL is the source of truth. Every write here is idempotent: re-running a partition with
unchanged input changes no row, bumps no version and writes no history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from aegis_orchestration.pipeline.decisions import reason_text
from aegis_orchestration.pipeline.dedup import PolicyCandidate, StoredPolicy, block_key, block_key_of
from aegis_orchestration.pipeline.lifecycle import MERGED_INTO
from aegis_orchestration.pipeline.outbox import OutboxMessage, envelope_message, write_messages
from aegis_orchestration.pipeline.policy_events import StatusChange, record, sources_merged
from aegis_orchestration.pipeline.quality import DIMENSIONS
from aegis_orchestration.pipeline.upserts import (
    bulk_insert,
    insert_rows,
    merged_source_ids,
    policies_table,
    upsert_returning,
)
from aegis_shared.messaging import EventPublisher
from aegis_shared.models import Announcement, PolicyStatus

# Announcement fields stored as same-named `policies` columns (shared with hot-path staging).
ANNOUNCEMENT_COLUMNS = (
    "title",
    "organization",
    "executing_organization",
    "category",
    "summary",
    "url",
    "period_start",
    "period_end",
    "period_open_ended",
    "period_note",
    "region_codes",
    "target_groups",
    "closed_by_source",
)

# What both paths write to a policy row (the cold path adds its dedup key and collection time).
POLICY_COLUMNS = (
    "id",
    "source",
    "source_id",
    "source_ids",
    *ANNOUNCEMENT_COLUMNS,
    "status",
    "status_reason",
    "quality_score",
    "content_hash",
    "version",
)


def load_collected(engine: sa.Engine, day: date) -> list[Announcement]:
    """The latest version of every record collected on ``day`` (all sources)."""
    query = sa.text(
        """
        SELECT DISTINCT ON (source, source_id) payload
        FROM raw_announcements
        WHERE partition_date = :day
        ORDER BY source, source_id, collected_at DESC, id DESC
        """
    )
    with engine.connect() as conn:
        return [Announcement.model_validate(row.payload) for row in conn.execute(query, {"day": day})]


def load_pending(engine: sa.Engine) -> list[Announcement]:
    """What the hot path left for the cold path to finish.

    Rows it staged as ``pending_validation``, and changes it staged beside a served (active)
    version (``staged_content``), which stays served until the cold path decides on the change.
    """
    query = sa.text(
        f"SELECT source, source_id, content_hash, {', '.join(ANNOUNCEMENT_COLUMNS)}, collected_at, "  # nosec B608 # column names from a module constant; values are bound
        "created_at, staged_content FROM policies "
        "WHERE (status = :status OR staged_content IS NOT NULL) AND deleted_at IS NULL ORDER BY id"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"status": PolicyStatus.PENDING_VALIDATION.value}).mappings().all()
    return [
        Announcement.model_validate(row["staged_content"]) if row["staged_content"] else _from_row(row)
        for row in rows
    ]


def _from_row(row: Any) -> Announcement:
    """An announcement rebuilt from its ``policies`` row (hot-path rows have no ``collected_at``)."""
    return Announcement.model_validate(
        {
            "source": row["source"],
            "source_id": row["source_id"],
            "content_hash": row["content_hash"],
            **{name: row[name] for name in ANNOUNCEMENT_COLUMNS},
            "collected_at": row["collected_at"] or row["created_at"],
        }
    )


def load_stored(engine: sa.Engine, records: Sequence[Announcement]) -> list[StoredPolicy]:
    """The existing policies ``records`` may duplicate, for cross-day dedup.

    Only rows in the records' dedup blocks are read (an indexed ``dedup_key`` lookup), so the
    cost follows the day's size, not the table's: active policies of those blocks, plus the
    records' own rows whatever their status short of archived (their stored source ids must
    survive), plus any policy a record was merged into earlier, whatever its status (a re-run of
    an older day must not split a merged programme again). Rejected and pending rows of other
    sources are not anchors: a rejected policy must not swallow a better record of the same
    programme, and pending rows are the newest day's input.
    """
    if not records:
        return []
    keys = sorted({block_key(r) for r in records})
    ids = sorted({r.policy_id for r in records})
    query = sa.text(
        f"SELECT id, source, source_id, source_ids, status, content_hash, collected_at, created_at, "  # nosec B608 # column names from a module constant; values are bound
        f"{', '.join(ANNOUNCEMENT_COLUMNS)} FROM policies "
        "WHERE deleted_at IS NULL AND ("
        "(status <> :archived AND ((status = :active AND dedup_key = ANY(:keys)) OR id = ANY(:ids))) "
        # A record already merged into a policy goes back to it, whatever that policy's status now.
        "OR (id <> ALL(:ids) AND source_ids ?| CAST(:ids AS text[]))"
        ") ORDER BY id"
    )
    params = {
        "archived": PolicyStatus.ARCHIVED.value,
        "active": PolicyStatus.ACTIVE.value,
        "keys": keys,
        "ids": ids,
    }
    with engine.connect() as conn:
        rows = conn.execute(query, params).mappings().all()
    return [
        StoredPolicy(record=_from_row(row), source_ids=tuple(row["source_ids"]), status=row["status"])
        for row in rows
    ]


def fill_dedup_keys(engine: sa.Engine, *, batch: int = 5000) -> int:
    """Give active rows written before ``dedup_key`` existed their key (derived data: no version bump)."""
    filled = 0
    select = sa.text(
        "SELECT id, organization, period_end, period_open_ended FROM policies "
        "WHERE dedup_key IS NULL AND status = :active AND deleted_at IS NULL ORDER BY id LIMIT :batch"
    )
    update = sa.text(
        "UPDATE policies p SET dedup_key = v.key "
        "FROM unnest(CAST(:ids AS text[]), CAST(:keys AS text[])) AS v(id, key) WHERE p.id = v.id"
    )
    while True:
        with engine.begin() as conn:
            rows = conn.execute(select, {"active": PolicyStatus.ACTIVE.value, "batch": batch}).all()
            if not rows:
                return filled
            keys = [block_key_of(row.organization, row.period_end, row.period_open_ended) for row in rows]
            conn.execute(update, {"ids": [row.id for row in rows], "keys": keys})
            filled += len(rows)


@dataclass
class UpsertReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    sources_merged: int = 0  # not re-written (older collection or unchanged), but given new source ids
    transitions: list[dict[str, object]] = field(default_factory=list)


_COLUMNS = (*POLICY_COLUMNS, "dedup_key", "collected_at")


def _row(candidate: PolicyCandidate, decided: dict[str, Any]) -> dict[str, object]:
    item = candidate.survivor
    row = {name: getattr(item, name) for name in ANNOUNCEMENT_COLUMNS}
    row.update(
        id=candidate.policy_id,
        collected_at=candidate.collected_at,
        source=item.source,
        source_id=item.source_id,
        source_ids=candidate.source_ids,
        status=str(decided["status"]),
        status_reason=reason_text(decided["reasons"]),
        quality_score=float(decided["total"]),
        content_hash=item.content_hash,
        dedup_key=candidate.dedup_key,
        version=1,
    )
    return row


def _upsert_statement() -> sa.Insert:
    """Insert or update; a row is rewritten only when newer-or-equal collection and something changed.

    Source ids only ever grow: they are merged with what the row already holds.
    """
    t = policies_table
    insert = bulk_insert(t, _COLUMNS)
    excluded = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[t.c.id],
        set_={
            **{name: excluded[name] for name in ANNOUNCEMENT_COLUMNS},
            "source_ids": sa.literal_column(
                merged_source_ids("policies.source_ids", "excluded.source_ids"), JSONB
            ),
            "status": excluded.status,
            "status_reason": excluded.status_reason,
            "quality_score": excluded.quality_score,
            "content_hash": excluded.content_hash,
            "collected_at": excluded.collected_at,
            "dedup_key": excluded.dedup_key,
            # The cold path has now decided on whatever the hot path staged beside a served version.
            "staged_content": sa.null(),
            "staged_content_hash": sa.null(),
            "version": t.c.version + 1,
            "updated_at": sa.func.now(),
            # deleted_at is left alone: a soft delete is another service's decision, never undone here.
        },
        where=sa.and_(
            sa.or_(t.c.collected_at.is_(None), excluded.collected_at >= t.c.collected_at),
            sa.or_(
                t.c.staged_content_hash.is_not(None),
                t.c.content_hash.is_distinct_from(excluded.content_hash),
                t.c.status.is_distinct_from(excluded.status),
                t.c.quality_score.is_distinct_from(excluded.quality_score),
                sa.not_(t.c.source_ids.contains(excluded.source_ids)),
            ),
        ),
    ).returning(t.c.id, t.c.version)


_UPSERT = _upsert_statement()

# Rows the upsert left alone (unchanged, or guarded by a newer collection) still gain new source ids.
_MERGE_SOURCE_IDS = sa.text(
    f"""
    UPDATE policies AS p
    SET source_ids = {merged_source_ids("p.source_ids", "CAST(v.source_ids AS jsonb)")},
        version = p.version + 1, updated_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:source_ids AS text[])) AS v(id, source_ids)
    WHERE p.id = v.id AND NOT p.source_ids @> CAST(v.source_ids AS jsonb)
    RETURNING p.id, p.version, p.status, p.source_ids
    """  # nosec B608 # SQL fragment from merged_source_ids(); values are bound
)


def upsert_policies(
    engine: sa.Engine,
    candidates: Sequence[PolicyCandidate],
    scores: pd.DataFrame,
    *,
    run_id: str | None,
    events: EventPublisher | None = None,
) -> UpsertReport:
    """Write scored policies, their metrics, history and audit rows in one transaction.

    With ``events``, each status change's ``PolicyQualityUpdated`` is built (and schema-checked)
    by that publisher and written to the outbox in the same transaction, so a failed publish is
    retried by the relay instead of being lost with the rows already committed. Each status
    change and merge is also appended to the policy's event stream (``policy_events``).
    """
    report = UpsertReport()
    # Plain dicts: per-row pandas lookups cost more than the database writes.
    by_id: dict[str, dict[str, Any]] = (
        scores.set_index("policy_id").to_dict("index") if not scores.empty else {}
    )
    with engine.begin() as conn:
        ids = [c.policy_id for c in candidates]
        stored = conn.execute(
            sa.text("SELECT id, status, source_ids FROM policies WHERE id = ANY(:ids)"), {"ids": ids}
        ).all()
        before = {row.id: row.status for row in stored}
        before_sources = {row.id: set(row.source_ids) for row in stored}
        rows = [_row(c, by_id[c.policy_id]) for c in candidates]
        evidence = {c.policy_id: [e.as_dict() for e in c.evidence] for c in candidates}
        written = {row.id: row.version for row in upsert_returning(conn, _UPSERT, rows)}
        stream: list[Any] = []
        history = _merge_source_ids(
            conn, [row for row in rows if row["id"] not in written], run_id, before_sources, evidence, stream
        )
        report.sources_merged = len(history)
        metrics, audits = [], []
        outbox: list[OutboxMessage] = []
        for row in rows:
            policy_id = str(row["id"])
            if policy_id not in written:
                report.unchanged += 1
                continue
            if policy_id in before:
                report.updated += 1
            else:
                report.inserted += 1
            score_row = by_id[policy_id]
            metrics.append(
                {
                    "policy_id": policy_id,
                    "run_id": run_id,
                    **{d: float(score_row[d]) for d in (*DIMENSIONS, "total")},
                }
            )
            previous = before.get(policy_id)
            if previous != row["status"]:
                stream.append(
                    StatusChange(
                        policy_id,
                        previous,
                        str(row["status"]),
                        written[policy_id],
                        "cold_path",
                        score_row["reasons"],
                        run_id=run_id,
                        extra={"quality_score": row["quality_score"], "content_hash": row["content_hash"]},
                    ).event()
                )
            # The policy's own id is not a merge; ids it already held are not new.
            source_ids = cast(list[str], row["source_ids"])
            added = set(source_ids) - before_sources.get(policy_id, {policy_id})
            if added:
                stream.append(
                    sources_merged(
                        policy_id,
                        version=written[policy_id],
                        status=str(row["status"]),
                        added=sorted(added),
                        source_ids=source_ids,
                        merges=evidence[policy_id],
                        stage="cold_path",
                        run_id=run_id,
                    )
                )
            history.append(
                {
                    "policy_id": policy_id,
                    "stage": "cold_path",
                    "status": row["status"],
                    "run_id": run_id,
                    "details": {
                        "version": written[policy_id],
                        "content_hash": row["content_hash"],
                        "previous_status": previous,
                        "reasons": score_row["reasons"],
                        "source_ids": row["source_ids"],
                        "merges": evidence[policy_id],
                    },
                }
            )
            if previous != row["status"]:
                # A record first seen by the cold path was pending validation until it was scored.
                transition = {
                    "policy_id": policy_id,
                    "previous_status": previous or PolicyStatus.PENDING_VALIDATION.value,
                    "status": row["status"],
                    "quality_score": row["quality_score"],
                    "scores": {d: float(score_row[d]) for d in DIMENSIONS},
                }
                report.transitions.append(transition)
                if events is not None:
                    outbox.append(quality_event(events, transition, written[policy_id]))
                audits.append(
                    {
                        "entity_type": "policy",
                        "entity_id": policy_id,
                        "action": "status_changed",
                        "actor": "aegis-cold-path",
                        "old_values": {"status": previous},
                        "new_values": {
                            "status": row["status"],
                            "version": written[policy_id],
                            "reason": row["status_reason"],
                        },
                    }
                )
        insert_rows(conn, "quality_metrics", metrics)
        insert_rows(conn, "processing_history", history)
        insert_rows(conn, "audit_logs", audits)
        write_messages(conn, outbox)
        report.archived = _archive_absorbed(conn, candidates, run_id, stream)
        record(conn, stream)
    return report


def quality_event(events: EventPublisher, transition: dict[str, Any], version: int) -> OutboxMessage:
    """A status change's ``PolicyQualityUpdated`` for the outbox: one event per policy version."""
    envelope = events.build("PolicyQualityUpdated", transition)
    policy_id = str(transition["policy_id"])
    return envelope_message(
        envelope,
        topic=events.topic_for(envelope),
        key=policy_id,
        dedupe_key=f"PolicyQualityUpdated:{policy_id}:v{version}",
    )


def _merge_source_ids(
    conn: sa.Connection,
    rows: Sequence[dict[str, Any]],
    run_id: str | None,
    before: dict[str, set[str]],
    evidence: dict[str, list[dict[str, object]]],
    stream: list[Any],
) -> list[dict[str, object]]:
    """Add new source ids to rows the upsert did not rewrite; their history rows.

    Their ``PolicySourcesMerged`` events are added to ``stream``.
    """
    if not rows:
        return []
    merged = conn.execute(
        _MERGE_SOURCE_IDS,
        {"ids": [row["id"] for row in rows], "source_ids": [json.dumps(row["source_ids"]) for row in rows]},
    ).all()
    stream.extend(
        sources_merged(
            policy_id,
            version=version,
            status=status,
            added=sorted(set(source_ids) - before.get(policy_id, set())),
            source_ids=source_ids,
            merges=evidence.get(policy_id, []),
            stage="dedup",
            run_id=run_id,
        )
        for policy_id, version, status, source_ids in merged
    )
    return [
        {
            "policy_id": policy_id,
            "stage": "dedup",
            "status": status,
            "run_id": run_id,
            "details": {"version": version, "sources_merged": True},
        }
        for policy_id, version, status, _ in merged
    ]


def _archive_absorbed(
    conn: sa.Connection, candidates: Iterable[PolicyCandidate], run_id: str | None, stream: list[Any]
) -> int:
    """Rows staged separately for what dedup found to be one programme become archived.

    Their ``PolicyStatusChanged`` events are added to ``stream``.
    """
    absorbed = {m.policy_id: c.policy_id for c in candidates for m in c.absorbed}
    if not absorbed:
        return 0
    why = {e.member: e for c in candidates for e in c.evidence}
    reasons = {
        pid: why[pid].message if pid in why else f"{pid} merged into {into}" for pid, into in absorbed.items()
    }
    # The old status comes from a locked read in the same statement, for the audit trail.
    archived = conn.execute(
        sa.text(
            "WITH old AS (SELECT id, status FROM policies WHERE id = ANY(:ids) AND status <> :archived "
            "FOR UPDATE) "
            "UPDATE policies p SET status = :archived, status_reason = v.reason, updated_at = now(), "
            "version = p.version + 1 "
            "FROM old JOIN unnest(CAST(:ids AS text[]), CAST(:reasons AS text[])) AS v(id, reason) "
            "ON v.id = old.id WHERE p.id = old.id RETURNING p.id, old.status, p.version"
        ),
        {
            "archived": PolicyStatus.ARCHIVED.value,
            "ids": list(reasons),
            "reasons": list(reasons.values()),
        },
    ).all()
    stream.extend(
        StatusChange(
            pid,
            old,
            PolicyStatus.ARCHIVED.value,
            version,
            "dedup",
            [{"code": MERGED_INTO, "message": reasons[pid]}],
            run_id=run_id,
            merged_into=absorbed[pid],
            extra={"merge": why[pid].as_dict() if pid in why else None},
        ).event()
        for pid, old, version in archived
    )
    insert_rows(
        conn,
        "processing_history",
        [
            {
                "policy_id": pid,
                "stage": "dedup",
                "status": PolicyStatus.ARCHIVED.value,
                "details": {
                    "merged_into": absorbed[pid],
                    "reasons": [{"code": MERGED_INTO, "message": reasons[pid]}],
                    "merge": why[pid].as_dict() if pid in why else None,
                },
                "run_id": run_id,
            }
            for pid, _, _ in archived
        ],
    )
    insert_rows(
        conn,
        "audit_logs",
        [
            {
                "entity_type": "policy",
                "entity_id": pid,
                "action": "status_changed",
                "actor": "aegis-cold-path",
                "old_values": {"status": old},
                "new_values": {
                    "status": PolicyStatus.ARCHIVED.value,
                    "version": version,
                    "merged_into": absorbed[pid],
                },
            }
            for pid, old, version in archived
        ],
    )
    return len(archived)


def count_policies(engine: sa.Engine) -> int:
    """Rows in ``policies`` that are not soft-deleted (the table's size, for asset metadata)."""
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT count(*) FROM policies WHERE deleted_at IS NULL")).scalar_one()
        )


def pending_lag_seconds(engine: sa.Engine) -> float:
    """Age in seconds of the oldest policy still pending validation (0 when none is): how far the
    cold path is behind what the hot path staged."""
    with engine.connect() as conn:
        age = conn.execute(
            sa.text(
                "SELECT extract(epoch FROM now() - min(created_at)) FROM policies "
                "WHERE status = 'pending_validation' AND deleted_at IS NULL"
            )
        ).scalar_one()
    return max(0.0, float(age or 0.0))
