"""PostgreSQL side of the pipeline: read collected records, upsert policies, keep the history.

PostgreSQL is the source of truth. Every write here is idempotent: re-running a partition with
unchanged input changes no row, bumps no version and writes no history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from aegis_orchestration.pipeline.dedup import PolicyCandidate
from aegis_orchestration.pipeline.outbox import OutboxMessage, envelope_message, write_messages
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
    """Policies the hot path staged as ``pending_validation``, for the cold path to finish."""
    query = sa.text(
        f"SELECT source, source_id, content_hash, {', '.join(ANNOUNCEMENT_COLUMNS)}, created_at "
        "FROM policies WHERE status = :status AND deleted_at IS NULL ORDER BY id"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"status": PolicyStatus.PENDING_VALIDATION.value}).mappings().all()
    return [
        Announcement.model_validate(
            {**{k: v for k, v in row.items() if k != "created_at"}, "collected_at": row["created_at"]}
        )
        for row in rows
    ]


@dataclass
class UpsertReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    transitions: list[dict[str, object]] = field(default_factory=list)


def _row(candidate: PolicyCandidate, status: str, score: float | None) -> dict[str, object]:
    item = candidate.survivor
    row = {name: getattr(item, name) for name in ANNOUNCEMENT_COLUMNS}
    row.update(
        id=candidate.policy_id,
        collected_at=item.collected_at,
        source=item.source,
        source_id=item.source_id,
        source_ids=json.dumps(candidate.source_ids),
        status=status,
        quality_score=score,
        content_hash=item.content_hash,
    )
    return row


_UPSERT = sa.text(
    f"""
    INSERT INTO policies (id, source, source_id, source_ids, {", ".join(ANNOUNCEMENT_COLUMNS)}, status,
                          quality_score, content_hash, collected_at, version)
    VALUES (:id, :source, :source_id, CAST(:source_ids AS jsonb),
            {", ".join(":" + c for c in ANNOUNCEMENT_COLUMNS)},
            :status, :quality_score, :content_hash, :collected_at, 1)
    ON CONFLICT (id) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in ANNOUNCEMENT_COLUMNS)},
        source_ids = EXCLUDED.source_ids, status = EXCLUDED.status,
        quality_score = EXCLUDED.quality_score, content_hash = EXCLUDED.content_hash,
        collected_at = EXCLUDED.collected_at,
        version = policies.version + 1, updated_at = now(), deleted_at = NULL
    WHERE (policies.collected_at IS NULL OR EXCLUDED.collected_at >= policies.collected_at)
      AND (policies.content_hash IS DISTINCT FROM EXCLUDED.content_hash
       OR policies.status IS DISTINCT FROM EXCLUDED.status
       OR policies.quality_score IS DISTINCT FROM EXCLUDED.quality_score
       OR policies.source_ids IS DISTINCT FROM EXCLUDED.source_ids)
    RETURNING id, version
    """
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
    retried by the relay instead of being lost with the rows already committed.
    """
    report = UpsertReport()
    by_id = scores.set_index("policy_id") if not scores.empty else scores
    with engine.begin() as conn:
        ids = [c.policy_id for c in candidates]
        before = dict(
            conn.execute(sa.text("SELECT id, status FROM policies WHERE id = ANY(:ids)"), {"ids": ids}).all()
        )
        rows = [
            _row(c, str(by_id.at[c.policy_id, "status"]), float(by_id.at[c.policy_id, "total"]))
            for c in candidates
        ]
        written = {row.id: row.version for row in _execute_returning(conn, _UPSERT, rows)}
        metrics, history, audits = [], [], []
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
            score_row = by_id.loc[policy_id]
            metrics.append(
                {
                    "policy_id": policy_id,
                    "run_id": run_id,
                    **{
                        d: float(score_row[d])
                        for d in ("completeness", "accuracy", "consistency", "timeliness", "total")
                    },
                }
            )
            previous = before.get(policy_id)
            history.append(
                {
                    "policy_id": policy_id,
                    "stage": "cold_path",
                    "status": row["status"],
                    "run_id": run_id,
                    "details": json.dumps(
                        {
                            "version": written[policy_id],
                            "content_hash": row["content_hash"],
                            "previous_status": previous,
                        }
                    ),
                }
            )
            if previous != row["status"]:
                # A record first seen by the cold path was pending validation until it was scored.
                transition = {
                    "policy_id": policy_id,
                    "previous_status": previous or PolicyStatus.PENDING_VALIDATION.value,
                    "status": row["status"],
                    "quality_score": row["quality_score"],
                    "scores": {
                        d: float(score_row[d])
                        for d in ("completeness", "accuracy", "consistency", "timeliness")
                    },
                }
                report.transitions.append(transition)
                if events is not None:
                    outbox.append(_quality_event(events, transition, written[policy_id]))
                audits.append(
                    {
                        "entity_id": policy_id,
                        "action": "status_changed",
                        "actor": "aegis-cold-path",
                        "old_values": json.dumps({"status": previous}),
                        "new_values": json.dumps({"status": row["status"], "version": written[policy_id]}),
                    }
                )
        if metrics:
            conn.execute(
                sa.text(
                    "INSERT INTO quality_metrics "
                    "(policy_id, completeness, accuracy, consistency, timeliness, total, run_id) "
                    "VALUES (:policy_id, :completeness, :accuracy, :consistency, :timeliness, :total, "
                    ":run_id)"
                ),
                metrics,
            )
        if history:
            conn.execute(
                sa.text(
                    "INSERT INTO processing_history (policy_id, stage, status, details, run_id) "
                    "VALUES (:policy_id, :stage, :status, CAST(:details AS jsonb), :run_id)"
                ),
                history,
            )
        if audits:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_logs (entity_type, entity_id, action, actor, old_values, new_values) "
                    "VALUES ('policy', :entity_id, :action, :actor, "
                    "CAST(:old_values AS jsonb), CAST(:new_values AS jsonb))"
                ),
                audits,
            )
        write_messages(conn, outbox)
        report.archived = _archive_absorbed(conn, candidates, run_id)
    return report


def _quality_event(events: EventPublisher, transition: dict[str, Any], version: int) -> OutboxMessage:
    envelope = events.build("PolicyQualityUpdated", transition)
    policy_id = str(transition["policy_id"])
    return envelope_message(
        envelope,
        topic=events.topic_for(envelope),
        key=policy_id,
        dedupe_key=f"PolicyQualityUpdated:{policy_id}:v{version}",
    )


def _execute_returning(
    conn: sa.Connection, statement: sa.TextClause, rows: list[dict[str, object]]
) -> list[sa.Row]:
    out: list[sa.Row] = []
    for row in rows:  # RETURNING per row; batches stay in one transaction and one round trip each
        out.extend(conn.execute(statement, row).all())
    return out


def _archive_absorbed(conn: sa.Connection, candidates: Iterable[PolicyCandidate], run_id: str | None) -> int:
    """Rows staged separately for what dedup found to be one programme become archived."""
    absorbed = {m.policy_id: c.policy_id for c in candidates for m in c.absorbed}
    if not absorbed:
        return 0
    archived = (
        conn.execute(
            sa.text(
                "UPDATE policies SET status = :archived, updated_at = now(), version = version + 1 "
                "WHERE id = ANY(:ids) AND status <> :archived RETURNING id"
            ),
            {"archived": PolicyStatus.ARCHIVED.value, "ids": list(absorbed)},
        )
        .scalars()
        .all()
    )
    if archived:
        conn.execute(
            sa.text(
                "INSERT INTO processing_history (policy_id, stage, status, details, run_id) "
                "VALUES (:policy_id, 'dedup', 'archived', CAST(:details AS jsonb), :run_id)"
            ),
            [
                {"policy_id": pid, "details": json.dumps({"merged_into": absorbed[pid]}), "run_id": run_id}
                for pid in archived
            ],
        )
    return len(archived)


def count_policies(engine: sa.Engine) -> int:
    """Rows in ``policies`` that are not soft-deleted (the table's size, for asset metadata)."""
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT count(*) FROM policies WHERE deleted_at IS NULL")).scalar_one()
        )
