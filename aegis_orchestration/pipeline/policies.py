"""PostgreSQL side of the pipeline: read collected records, upsert policies, keep the history.

PostgreSQL is the source of truth. Every write here is idempotent: re-running a partition with
unchanged input changes no row, bumps no version and writes no history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypedDict, cast

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, distinct_on

from aegis_orchestration.pipeline import decisions, tables
from aegis_orchestration.pipeline.decisions import reason_text
from aegis_orchestration.pipeline.dedup import PolicyCandidate, StoredPolicy, block_key, block_key_of
from aegis_orchestration.pipeline.lifecycle import MERGED_INTO
from aegis_orchestration.pipeline.policy_events import StatusChange, record, sources_merged
from aegis_orchestration.pipeline.quality import DIMENSIONS
from aegis_orchestration.pipeline.rejections import record_rejections
from aegis_orchestration.pipeline.tables import ANNOUNCEMENT_COLUMNS, POLICY_COLUMNS
from aegis_orchestration.pipeline.trail import QualityUpdate, Transition, write_transitions
from aegis_orchestration.pipeline.upserts import bulk_insert, insert_rows, merged_source_ids, upsert_returning
from aegis_orchestration.pipeline.validation import ValidationRejection
from aegis_shared.eventstore import NewEvent
from aegis_shared.messaging import EventPublisher
from aegis_shared.models import Announcement, PolicyStatus


def load_collected(engine: sa.Engine, day: date) -> list[Announcement]:
    """The latest version of every record collected on ``day`` (all sources)."""
    r = tables.raw_announcements
    query = (
        sa.select(r.c.payload)
        .where(r.c.partition_date == day)
        .ext(distinct_on(r.c.source, r.c.source_id))
        .order_by(r.c.source, r.c.source_id, r.c.collected_at.desc(), r.c.id.desc())
    )
    with engine.connect() as conn:
        return [Announcement.model_validate(payload) for payload in conn.execute(query).scalars()]


def load_pending(engine: sa.Engine) -> list[Announcement]:
    """What the hot path left for the cold path to finish.

    Rows it staged as ``pending_validation``, and changes it staged beside a served (active)
    version (``staged_content``), which stays served until the cold path decides on the change.
    """
    t = tables.policies
    query = (
        sa.select(*_RECORD_COLUMNS, t.c.staged_content)
        .where(
            sa.or_(t.c.status == PolicyStatus.PENDING_VALIDATION.value, t.c.staged_content.is_not(None)),
            t.c.deleted_at.is_(None),
        )
        .order_by(t.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        Announcement.model_validate(row["staged_content"]) if row["staged_content"] else _from_row(row)
        for row in rows
    ]


@dataclass(frozen=True)
class ValidatedBatch:
    """One day's records after full validation (the ``validated_announcements`` asset's value)."""

    day: date
    valid: list[Announcement]
    rejected: list[ValidationRejection]
    collected: int = 0  # records collected that day
    pending: int = 0  # hot-path records finished with them

    @property
    def records(self) -> int:
        return self.collected + self.pending


def validate_day(engine: sa.Engine, day: date, *, with_pending: bool, run_id: str | None) -> ValidatedBatch:
    """Fully validate what was collected on ``day`` and, ``with_pending``, what the hot path left.

    Only the newest day's run should take the pending records: a backfill of an old day must not
    score today's records against that day, and parallel partitions must not race on them. A
    record collected that day wins over its pending copy. Every rejection is kept with its code.
    """
    collected = load_collected(engine, day)
    seen = {(a.source, a.source_id) for a in collected}
    pending = [p for p in load_pending(engine) if (p.source, p.source_id) not in seen] if with_pending else []
    valid, rejected = decisions.validate_all(collected + pending)
    record_rejections(engine, rejected, run_id=run_id)
    return ValidatedBatch(day, valid, rejected, len(collected), len(pending))


# What an announcement is rebuilt from (:func:`_from_row`).
_RECORD_COLUMNS = tuple(
    tables.policies.c[name]
    for name in ("source", "source_id", "content_hash", *ANNOUNCEMENT_COLUMNS, "collected_at", "created_at")
)


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
    t = tables.policies
    day_ids = sa.func.unnest(tables.text_array(ids)).table_valued("id").render_derived()
    day_keys = sa.func.unnest(tables.text_array(keys)).table_valued("key").render_derived()
    # Three joins against the day's ids and keys, each served by its own index (dedup_key, the
    # primary key, the source_ids GIN index). As one WHERE with large arrays ORed, PostgreSQL
    # scanned the table and tested every row against every id: a day's cost grew with the table.
    anchors = sa.union(
        sa.select(t.c.id)
        .join(day_keys, t.c.dedup_key == day_keys.c.key)
        .where(t.c.status == PolicyStatus.ACTIVE.value),
        sa.select(t.c.id)
        .join(day_ids, t.c.id == day_ids.c.id)
        .where(t.c.status != PolicyStatus.ARCHIVED.value),
        # A record already merged into a policy goes back to it, whatever that policy's status now.
        # `?` is served by the GIN index once per id.
        sa.select(t.c.id)
        .join(day_ids, t.c.source_ids.op("?")(day_ids.c.id))
        .where(t.c.id != sa.all_(tables.text_array(ids))),
    )
    query = (
        sa.select(t.c.id, t.c.source_ids, t.c.status, *_RECORD_COLUMNS)
        .where(t.c.deleted_at.is_(None), t.c.id.in_(anchors))
        .order_by(t.c.id)
    )
    with engine.begin() as conn:
        # The planner guesses hundreds of GIN matches per id and JIT-compiles for ~0.5 s a query
        # that runs in tens of milliseconds.
        conn.execute(sa.text("SET LOCAL jit = off"))
        rows = conn.execute(query).mappings().all()
    return [
        StoredPolicy(record=_from_row(row), source_ids=tuple(row["source_ids"]), status=row["status"])
        for row in rows
    ]


def fill_dedup_keys(engine: sa.Engine, *, batch: int = 5000) -> int:
    """Give active rows written before ``dedup_key`` existed their key (derived data: no version bump)."""
    filled = 0
    t = tables.policies
    select = (
        sa.select(t.c.id, t.c.organization, t.c.period_end, t.c.period_open_ended)
        .where(t.c.dedup_key.is_(None), t.c.status == PolicyStatus.ACTIVE.value, t.c.deleted_at.is_(None))
        .order_by(t.c.id)
        .limit(batch)
    )
    while True:
        with engine.begin() as conn:
            rows = conn.execute(select).all()
            if not rows:
                return filled
            keys = [block_key_of(row.organization, row.period_end, row.period_open_ended) for row in rows]
            v = tables.unnest(id=[row.id for row in rows], key=keys)
            conn.execute(sa.update(t).values(dedup_key=v.c.key).where(t.c.id == v.c.id))
            filled += len(rows)


@dataclass
class UpsertReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    sources_merged: int = 0  # not re-written (older collection or unchanged), but given new source ids
    transitions: list[QualityUpdate] = field(default_factory=list)


_COLUMNS = (*POLICY_COLUMNS, "dedup_key", "collected_at")
ACTOR = "aegis-cold-path"


class PolicyRow(TypedDict):
    """One scored policy as the cold path writes it (the ``_COLUMNS`` of ``policies``)."""

    id: str
    source: str
    source_id: str
    source_ids: list[str]
    title: str
    organization: str | None
    executing_organization: str | None
    category: str | None
    summary: str | None
    url: str | None
    period_start: date | None
    period_end: date | None
    period_open_ended: bool
    period_note: str | None
    region_codes: list[str]
    target_groups: list[str]
    closed_by_source: bool
    status: str
    status_reason: str
    quality_score: float
    content_hash: str
    version: int
    dedup_key: str | None
    collected_at: datetime


@dataclass(frozen=True)
class _Stored:
    """A policy row as it was before this write."""

    status: str
    source_ids: frozenset[str]


@dataclass(frozen=True)
class _Written:
    """A row the upsert wrote, with what it was before (``None``: new) and why it is what it is now."""

    row: PolicyRow
    version: int
    before: _Stored | None
    decided: dict[str, Any]  # the policy_quality row: dimension scores, total, status, reasons
    merges: list[dict[str, object]]

    @property
    def previous_status(self) -> str | None:
        return self.before.status if self.before else None

    @property
    def status_changed(self) -> bool:
        return self.previous_status != self.row["status"]


def _row(candidate: PolicyCandidate, decided: dict[str, Any]) -> PolicyRow:
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
    return cast(PolicyRow, row)


def _upsert_statement() -> sa.Insert:
    """Insert or update; a row is rewritten only when newer-or-equal collection and something changed.

    Source ids only ever grow: they are merged with what the row already holds.
    """
    t = tables.policies
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


def _merge_source_ids_statement(ids: list[str], source_ids: list[str]) -> sa.Update:
    """Rows the upsert left alone (unchanged, or guarded by a newer collection) still gain new source ids."""
    t = tables.policies
    v = tables.unnest(id=ids, source_ids=source_ids)
    incoming = sa.cast(v.c.source_ids, JSONB)
    return (
        sa.update(t)
        .values(
            source_ids=sa.literal_column(
                merged_source_ids(f"{t.name}.{t.c.source_ids.name}", "CAST(v.source_ids AS jsonb)"), JSONB
            ),
            version=t.c.version + 1,
            updated_at=sa.func.now(),
        )
        .where(t.c.id == v.c.id, sa.not_(t.c.source_ids.contains(incoming)))
        .returning(t.c.id, t.c.version, t.c.status, t.c.source_ids)
    )


def upsert_policies(
    engine: sa.Engine,
    candidates: Sequence[PolicyCandidate],
    scores: pd.DataFrame,
    *,
    run_id: str | None,
    events: EventPublisher | None = None,
) -> UpsertReport:
    """Write scored policies, their metrics, history and status-change trail in one transaction.

    With ``events``, each status change's ``PolicyQualityUpdated`` is built (and schema-checked)
    by that publisher and written to the outbox in the same transaction, so a failed publish is
    retried by the relay instead of being lost with the rows already committed. Each status
    change and merge is also appended to the policy's event stream (``policy_events``).
    """
    # Plain dicts: per-row pandas lookups cost more than the database writes.
    decided: dict[str, dict[str, Any]] = (
        scores.set_index("policy_id").to_dict("index") if not scores.empty else {}
    )
    rows = [_row(c, decided[c.policy_id]) for c in candidates]
    merges = {c.policy_id: [e.as_dict() for e in c.evidence] for c in candidates}
    report = UpsertReport()
    with engine.begin() as conn:
        before = _read_stored(conn, [row["id"] for row in rows])
        versions = {row.id: row.version for row in upsert_returning(conn, _UPSERT, rows)}
        written = [
            _Written(row, versions[row["id"]], before.get(row["id"]), decided[row["id"]], merges[row["id"]])
            for row in rows
            if row["id"] in versions
        ]
        merged = _merge_source_ids(
            conn, [row for row in rows if row["id"] not in versions], before, merges, run_id
        )
        report.sources_merged = len(merged.history)
        report.unchanged = len(rows) - len(written)
        report.updated = sum(1 for w in written if w.before is not None)
        report.inserted = len(written) - report.updated
        insert_rows(conn, tables.quality_metrics, [_metrics_row(w, run_id) for w in written])
        insert_rows(
            conn, tables.processing_history, merged.history + [_history_row(w, run_id) for w in written]
        )
        transitions = [_transition(w, run_id) for w in written if w.status_changed]
        report.transitions = [t.quality for t in transitions if t.quality is not None]
        write_transitions(conn, transitions, events=events)
        record(conn, merged.events + [e for w in written if (e := _sources_merged(w, run_id)) is not None])
        report.archived = _archive_absorbed(conn, candidates, run_id)
    return report


def _read_stored(conn: sa.Connection, ids: list[str]) -> dict[str, _Stored]:
    t = tables.policies
    query = sa.select(t.c.id, t.c.status, t.c.source_ids).where(t.c.id == sa.any_(tables.text_array(ids)))
    return {row.id: _Stored(row.status, frozenset(row.source_ids)) for row in conn.execute(query)}


def _metrics_row(w: _Written, run_id: str | None) -> dict[str, object]:
    return {
        "policy_id": w.row["id"],
        "run_id": run_id,
        **{d: float(w.decided[d]) for d in (*DIMENSIONS, "total")},
    }


def _history_row(w: _Written, run_id: str | None) -> dict[str, object]:
    """Every written policy gets one, status change or not (the trail adds none for the cold path)."""
    return {
        "policy_id": w.row["id"],
        "stage": "cold_path",
        "status": w.row["status"],
        "run_id": run_id,
        "details": {
            "version": w.version,
            "content_hash": w.row["content_hash"],
            "previous_status": w.previous_status,
            "reasons": w.decided["reasons"],
            "source_ids": w.row["source_ids"],
            "merges": w.merges,
        },
    }


def _transition(w: _Written, run_id: str | None) -> Transition:
    row = w.row
    return Transition(
        StatusChange(
            row["id"],
            w.previous_status,
            row["status"],
            w.version,
            "cold_path",
            w.decided["reasons"],
            run_id=run_id,
            extra={"quality_score": row["quality_score"], "content_hash": row["content_hash"]},
        ),
        actor=ACTOR,
        audit={"reason": row["status_reason"]},
        quality={
            "policy_id": row["id"],
            # A record first seen by the cold path was pending validation until it was scored.
            "previous_status": w.previous_status or PolicyStatus.PENDING_VALIDATION.value,
            "status": row["status"],
            "quality_score": row["quality_score"],
            "scores": {d: float(w.decided[d]) for d in DIMENSIONS},
        },
    )


def _sources_merged(w: _Written, run_id: str | None) -> tuple[str, NewEvent] | None:
    """The policy's ``PolicySourcesMerged`` if it gained source ids (its own id is not a merge)."""
    added = set(w.row["source_ids"]) - (w.before.source_ids if w.before else {w.row["id"]})
    if not added:
        return None
    return sources_merged(
        w.row["id"],
        version=w.version,
        status=w.row["status"],
        added=sorted(added),
        source_ids=w.row["source_ids"],
        merges=w.merges,
        stage="cold_path",
        run_id=run_id,
    )


@dataclass(frozen=True)
class _Merged:
    history: list[dict[str, object]]
    events: list[tuple[str, NewEvent]]


def _merge_source_ids(
    conn: sa.Connection,
    rows: Sequence[PolicyRow],
    before: dict[str, _Stored],
    merges: dict[str, list[dict[str, object]]],
    run_id: str | None,
) -> _Merged:
    """Add new source ids to rows the upsert did not rewrite: their history rows and events."""
    if not rows:
        return _Merged([], [])
    merged = conn.execute(
        _merge_source_ids_statement(
            [row["id"] for row in rows], [json.dumps(row["source_ids"]) for row in rows]
        )
    ).all()
    events = [
        sources_merged(
            policy_id,
            version=version,
            status=status,
            added=sorted(set(source_ids) - (before[policy_id].source_ids if policy_id in before else set())),
            source_ids=source_ids,
            merges=merges.get(policy_id, []),
            stage="dedup",
            run_id=run_id,
        )
        for policy_id, version, status, source_ids in merged
    ]
    history: list[dict[str, object]] = [
        {
            "policy_id": policy_id,
            "stage": "dedup",
            "status": status,
            "run_id": run_id,
            "details": {"version": version, "sources_merged": True},
        }
        for policy_id, version, status, _ in merged
    ]
    return _Merged(history, events)


def archive_statement(ids: list[str], reasons: list[str]) -> sa.Update:
    """Archive ``ids`` not archived yet, each with its reason; returns id, old status (from a
    locked read, for the trail) and the new version. Dedup archiving and expiry both use it."""
    t = tables.policies
    old = (
        sa.select(t.c.id, t.c.status)
        .where(t.c.id == sa.any_(tables.text_array(ids)), t.c.status != PolicyStatus.ARCHIVED.value)
        .with_for_update()
        .cte("old")
    )
    v = tables.unnest(id=ids, reason=reasons)
    return (
        sa.update(t)
        .values(
            status=PolicyStatus.ARCHIVED.value,
            status_reason=v.c.reason,
            updated_at=sa.func.now(),
            version=t.c.version + 1,
        )
        .where(t.c.id == old.c.id, v.c.id == old.c.id)
        .returning(t.c.id, old.c.status, t.c.version)
    )


def _archive_absorbed(conn: sa.Connection, candidates: Iterable[PolicyCandidate], run_id: str | None) -> int:
    """Rows staged separately for what dedup found to be one programme become archived."""
    absorbed = {m.policy_id: c.policy_id for c in candidates for m in c.absorbed}
    if not absorbed:
        return 0
    why = {e.member: e for c in candidates for e in c.evidence}
    reasons = {
        pid: why[pid].message if pid in why else f"{pid} merged into {into}" for pid, into in absorbed.items()
    }
    archived = conn.execute(archive_statement(list(reasons), list(reasons.values()))).all()
    transitions = []
    for pid, old, version in archived:
        because = [{"code": MERGED_INTO, "message": reasons[pid]}]
        merge = why[pid].as_dict() if pid in why else None
        transitions.append(
            Transition(
                StatusChange(
                    pid,
                    old,
                    PolicyStatus.ARCHIVED.value,
                    version,
                    "dedup",
                    because,
                    run_id=run_id,
                    merged_into=absorbed[pid],
                    extra={"merge": merge},
                ),
                actor=ACTOR,
                audit={"merged_into": absorbed[pid]},
                history={"merged_into": absorbed[pid], "reasons": because, "merge": merge},
            )
        )
    write_transitions(conn, transitions)
    return len(archived)


def count_policies(engine: sa.Engine) -> int:
    """Rows in ``policies`` that are not soft-deleted (the table's size, for asset metadata)."""
    t = tables.policies
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(t).where(t.c.deleted_at.is_(None))
            ).scalar_one()
        )


def pending_lag_seconds(engine: sa.Engine) -> float:
    """Age in seconds of the oldest policy still pending validation (0 when none is): how far the
    cold path is behind what the hot path staged."""
    t = tables.policies
    with engine.connect() as conn:
        age = conn.execute(
            sa.select(sa.extract("epoch", sa.func.now() - sa.func.min(t.c.created_at))).where(
                t.c.status == PolicyStatus.PENDING_VALIDATION.value, t.c.deleted_at.is_(None)
            )
        ).scalar_one()
    return max(0.0, float(age or 0.0))
