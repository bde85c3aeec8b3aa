"""Records refused by full validation: kept with their code and reason, never silently dropped."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from aegis_orchestration.pipeline.validation import Rejection
from aegis_shared.models import PolicyStatus


def record_rejections(engine: sa.Engine, rejections: Sequence[Rejection], *, run_id: str | None) -> int:
    """Keep every rejected record with its code and reason (nothing is silently dropped).

    A rejection already on record is not written again, so re-running a day adds no rows.
    """
    if not rejections:
        return 0
    written = 0
    with engine.begin() as conn:
        for rejection in rejections:
            written += conn.execute(
                sa.text(
                    "INSERT INTO processing_history (policy_id, stage, status, details, run_id) "
                    "SELECT NULL, 'validation', 'rejected', CAST(:details AS jsonb), :run_id "
                    "WHERE NOT EXISTS (SELECT 1 FROM processing_history WHERE stage = 'validation' "
                    "AND details = CAST(:details AS jsonb))"
                ),
                {"details": json.dumps(rejection.as_dict(), ensure_ascii=False), "run_id": run_id},
            ).rowcount
        # A record the hot path staged must not stay pending forever once full validation refused it.
        conn.execute(
            sa.text(
                "UPDATE policies SET status = :rejected, updated_at = now(), version = version + 1 "
                "WHERE source = :source AND source_id = :source_id AND status = :pending"
            ),
            [
                {
                    "rejected": PolicyStatus.REJECTED.value,
                    "pending": PolicyStatus.PENDING_VALIDATION.value,
                    "source": r.source,
                    "source_id": r.source_id,
                }
                for r in rejections
            ],
        )
    return written
