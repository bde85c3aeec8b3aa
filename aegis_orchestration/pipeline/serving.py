"""What the serving stores must hold, read from PostgreSQL, and what each store last synced."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from aegis_orchestration.pipeline.industries import industries_for
from aegis_shared.models import PolicyStatus
from aegis_shared.stores.base import PolicyDocument


def serving_fingerprints(engine: sa.Engine) -> dict[str, str]:
    """policy id -> content hash of every policy the serving stores must hold (active ones)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, content_hash FROM policies WHERE status = :s AND deleted_at IS NULL"),
            {"s": PolicyStatus.ACTIVE.value},
        )
        return dict(rows.all())


def load_documents(engine: sa.Engine, ids: Sequence[str]) -> list[PolicyDocument]:
    query = sa.text(
        "SELECT id, content_hash, title, summary, organization, executing_organization, category, "
        "region_codes, "
        "target_groups, url, period_start, period_end, status FROM policies "
        # A policy that left the active set since the drift was measured must not be written.
        "WHERE id = ANY(:ids) AND status = 'active' AND deleted_at IS NULL ORDER BY id"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"ids": list(ids)}).mappings().all()
    return [
        PolicyDocument(
            policy_id=row["id"],
            content_hash=row["content_hash"],
            title=row["title"],
            summary=row["summary"],
            organization=row["organization"],
            executing_organization=row["executing_organization"],
            category=row["category"],
            region_codes=tuple(row["region_codes"] or ()),
            target_groups=tuple(row["target_groups"] or ()),
            industries=industries_for(row["title"], row["summary"]),
            url=row["url"],
            period_start=row["period_start"],
            period_end=row["period_end"],
            status=row["status"],
        )
        for row in rows
    ]


def record_sync_state(engine: sa.Engine, store: str, synced: dict[str, str], deleted: Sequence[str]) -> None:
    with engine.begin() as conn:
        if synced:
            conn.execute(
                # One statement per batch (unnest of two arrays) instead of one row per round trip.
                sa.text(
                    "INSERT INTO store_sync_state (store, policy_id, content_hash) "
                    "SELECT :store, pid, hash FROM unnest(CAST(:pids AS text[]), CAST(:hashes AS text[])) "
                    "AS t(pid, hash) "
                    "ON CONFLICT (store, policy_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, "
                    "synced_at = now()"
                ),
                {"store": store, "pids": list(synced), "hashes": list(synced.values())},
            )
        if deleted:
            conn.execute(
                sa.text("DELETE FROM store_sync_state WHERE store = :store AND policy_id = ANY(:ids)"),
                {"store": store, "ids": list(deleted)},
            )
