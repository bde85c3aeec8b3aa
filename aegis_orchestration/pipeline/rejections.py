"""Records refused by full validation: kept with their code and reason, never silently dropped.

Each rejection carries a stable ``dedupe_key`` backed by a partial unique index on
``processing_history``, so a batch is one ``INSERT ... ON CONFLICT DO NOTHING`` and re-running a
day writes nothing, however large the history table has grown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from aegis_orchestration.pipeline.policy_events import StatusChange
from aegis_orchestration.pipeline.trail import Transition, write_transitions
from aegis_orchestration.pipeline.validation import ValidationRejection
from aegis_shared.models import PolicyStatus

STAGE = "validation"

# The ON CONFLICT target must repeat the partial index's predicate for PostgreSQL to infer it.
_INSERT = sa.text(
    "INSERT INTO processing_history (policy_id, stage, status, details, run_id, dedupe_key) "
    "SELECT NULL, :stage, :rejected, CAST(v.details AS jsonb), :run_id, v.key "
    "FROM unnest(CAST(:keys AS text[]), CAST(:details AS text[])) AS v(key, details) "
    "ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING"
)

# A record the hot path staged must not stay pending forever once full validation refused it.
_REJECT_PENDING = sa.text(
    "UPDATE policies p SET status = :rejected, updated_at = now(), version = p.version + 1 "
    "FROM unnest(CAST(:sources AS text[]), CAST(:source_ids AS text[])) AS v(source, source_id) "
    "WHERE p.source = v.source AND p.source_id = v.source_id AND p.status = :pending "
    "RETURNING p.id, p.source, p.source_id, p.version"
)


def dedupe_key(fields: Mapping[str, str]) -> str:
    """Stable key of one rejection: the record (source, source id) and what was wrong with it.

    The reason stands in for the content: a changed record rejected for a different reason is
    a new row, the same refusal seen again is not.
    """
    canonical = json.dumps(
        [fields["source"], fields["source_id"], fields["code"], fields["reason"]],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"{STAGE}:{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def record_rejections(
    engine: sa.Engine, rejections: Sequence[ValidationRejection], *, run_id: str | None
) -> int:
    """Keep every rejected record with its code and reason; returns how many rows were new."""
    if not rejections:
        return 0
    _key_legacy_rows(engine)
    details = [r.as_dict() for r in rejections]
    with engine.begin() as conn:
        written = conn.execute(
            _INSERT,
            {
                "stage": STAGE,
                "rejected": PolicyStatus.REJECTED.value,
                "run_id": run_id,
                "keys": [dedupe_key(d) for d in details],
                "details": [json.dumps(d, ensure_ascii=False) for d in details],
            },
        ).rowcount
        refused = conn.execute(
            _REJECT_PENDING,
            {
                "rejected": PolicyStatus.REJECTED.value,
                "pending": PolicyStatus.PENDING_VALIDATION.value,
                "sources": [r.source for r in rejections],
                "source_ids": [r.source_id for r in rejections],
            },
        ).all()
        why = {(d["source"], d["source_id"]): d for d in details}
        write_transitions(
            conn,
            [
                Transition(
                    StatusChange(
                        row.id,
                        PolicyStatus.PENDING_VALIDATION.value,
                        PolicyStatus.REJECTED.value,
                        row.version,
                        STAGE,
                        [
                            {
                                "code": why[(row.source, row.source_id)]["code"],
                                "message": why[(row.source, row.source_id)]["reason"],
                            }
                        ],
                        run_id=run_id,
                    )
                )
                for row in refused
            ],
        )
    return written


_keyed_databases: set[str] = set()


def _key_legacy_rows(engine: sa.Engine) -> None:
    """Give rejections written before ``dedupe_key`` existed their key, once per process and database.

    Without it, the first re-run after the upgrade would record every old rejection a second
    time. Only the oldest row of each key is keyed; any older duplicates stay as they were.
    """
    url = engine.url.render_as_string(hide_password=True)
    if url in _keyed_databases:
        return
    with engine.begin() as conn:
        # Parallel partitions may all start here; one keys the rows, the others then find none.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('processing_history.dedupe_key'))"))
        rows = conn.execute(
            sa.text(
                "SELECT id, details FROM processing_history "
                "WHERE stage = :stage AND status = :rejected AND dedupe_key IS NULL AND policy_id IS NULL "
                "ORDER BY id"
            ),
            {"stage": STAGE, "rejected": PolicyStatus.REJECTED.value},
        ).all()
        first: dict[str, int] = {}
        for row in rows:
            if all(isinstance(row.details.get(k), str) for k in ("source", "source_id", "code", "reason")):
                first.setdefault(dedupe_key(row.details), row.id)
        if first:
            conn.execute(
                sa.text(
                    "UPDATE processing_history h SET dedupe_key = v.key "
                    "FROM unnest(CAST(:ids AS bigint[]), CAST(:keys AS text[])) AS v(id, key) "
                    "WHERE h.id = v.id AND NOT EXISTS "
                    "(SELECT 1 FROM processing_history k WHERE k.dedupe_key = v.key)"
                ),
                {"ids": list(first.values()), "keys": list(first)},
            )
    _keyed_databases.add(url)
