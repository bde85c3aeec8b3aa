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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from aegis_orchestration.pipeline import tables
from aegis_orchestration.pipeline.policy_events import StatusChange
from aegis_orchestration.pipeline.trail import Transition, write_transitions
from aegis_orchestration.pipeline.validation import ValidationRejection
from aegis_shared.models import PolicyStatus

STAGE = "validation"


def _insert(keys: list[str], details: list[str], run_id: str | None) -> sa.Insert:
    """One history row per rejection, skipped when its key is already there."""
    h = tables.processing_history
    v = tables.unnest(key=keys, details=details)
    rows = sa.select(
        sa.null(),
        sa.literal(STAGE, sa.Text),
        sa.literal(PolicyStatus.REJECTED.value, sa.Text),
        sa.cast(v.c.details, JSONB),
        sa.literal(run_id, sa.Text),
        v.c.key,
    )
    # The ON CONFLICT target must repeat the partial index's predicate for PostgreSQL to infer it.
    return (
        pg_insert(h)
        .from_select(["policy_id", "stage", "status", "details", "run_id", "dedupe_key"], rows)
        .on_conflict_do_nothing(index_elements=[h.c.dedupe_key], index_where=h.c.dedupe_key.is_not(None))
        .returning(h.c.id)
    )


def _reject_pending(sources: list[str], source_ids: list[str]) -> sa.Update:
    """A record the hot path staged must not stay pending forever once full validation refused it."""
    t = tables.policies
    v = tables.unnest(source=sources, source_id=source_ids)
    return (
        sa.update(t)
        .values(status=PolicyStatus.REJECTED.value, updated_at=sa.func.now(), version=t.c.version + 1)
        .where(
            t.c.source == v.c.source,
            t.c.source_id == v.c.source_id,
            t.c.status == PolicyStatus.PENDING_VALIDATION.value,
        )
        .returning(t.c.id, t.c.source, t.c.source_id, t.c.version)
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
        keys = [dedupe_key(d) for d in details]
        encoded = [json.dumps(d, ensure_ascii=False) for d in details]
        written = len(conn.execute(_insert(keys, encoded, run_id)).all())
        refused = conn.execute(
            _reject_pending([r.source for r in rejections], [r.source_id for r in rejections])
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
