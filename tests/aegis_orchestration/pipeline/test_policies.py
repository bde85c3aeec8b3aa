"""Policy upserts on real PostgreSQL: set-based, idempotent, guarded, and source ids that only grow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from aegis_orchestration.pipeline import policies
from aegis_orchestration.pipeline.dedup import PolicyCandidate, deduplicate
from aegis_orchestration.pipeline.upserts import UPSERT_CHUNK
from aegis_shared.models import Announcement
from tests.aegis_orchestration.hot_path.helpers import Database, announcement

DAY1 = datetime(2026, 11, 20, 1, tzinfo=UTC)
DAY2 = datetime(2026, 11, 21, 1, tzinfo=UTC)
TABLES = ("policies", "quality_metrics", "processing_history", "audit_logs")


def scores(candidates: Sequence[PolicyCandidate], status: str = "active", total: float = 0.9) -> pd.DataFrame:
    dims = {d: 1.0 for d in ("completeness", "accuracy", "consistency", "timeliness")}
    reasons = [{"code": "quality_passed" if status == "active" else "test", "message": f"{status} in a test"}]
    return pd.DataFrame(
        [
            {"policy_id": c.policy_id, "status": status, "total": total, "reasons": reasons, **dims}
            for c in candidates
        ]
    )


def upsert(
    db: Database, items: Sequence[Announcement], *, cross_day: bool = True, **score: object
) -> policies.UpsertReport:
    candidates = deduplicate(items, policies.load_stored(db.engine, items) if cross_day else ())
    return policies.upsert_policies(db.engine, candidates, scores(candidates, **score), run_id="t")  # type: ignore[arg-type]


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        out = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
        out["versions"] = conn.execute(sa.text("SELECT coalesce(sum(version), 0) FROM policies")).scalar_one()
    return out


def row(db: Database, policy_id: str) -> sa.RowMapping:
    with db.engine.connect() as conn:
        return (
            conn.execute(sa.text("SELECT * FROM policies WHERE id = :id"), {"id": policy_id}).mappings().one()
        )


def item(i: int, collected_at: datetime, **fields: object) -> Announcement:
    # One organisation each: one dedup block each, so the records are distinct programmes.
    return announcement(i, organization=f"중소벤처기업부 {i}", collected_at=collected_at, **fields)


def test_many_chunks_are_written_once_and_a_rerun_writes_nothing(db: Database) -> None:
    n = 2 * UPSERT_CHUNK + 500  # three statements, the last one partial
    items = [item(i, DAY1) for i in range(n)]
    first = upsert(db, items)
    assert (first.inserted, first.updated, first.unchanged) == (n, 0, 0)
    assert len(first.transitions) == n  # pending -> active, one audit row and metrics row each
    after_first = counts(db)
    assert after_first == {
        "policies": n,
        "quality_metrics": n,
        "processing_history": n,
        "audit_logs": n,
        "versions": n,
    }
    stored = row(db, items[1234].policy_id)
    assert stored["region_codes"] == ["11"] and stored["source_ids"] == [items[1234].policy_id]
    assert stored["period_end"] == items[1234].period_end and stored["collected_at"] == DAY1
    assert stored["dedup_key"] == "중소벤처기업부1234|2026-12-31"

    again = upsert(db, items)
    assert (again.inserted, again.updated, again.unchanged, again.sources_merged) == (0, 0, n, 0)
    assert counts(db) == after_first

    # One changed record in the middle chunk: exactly one new version, history and metrics row.
    items[UPSERT_CHUNK + 7] = item(UPSERT_CHUNK + 7, DAY2, title="바뀐 제목 지원사업")
    changed = upsert(db, items)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, n - 1)
    assert changed.transitions == []  # still active: no audit row
    assert counts(db) == after_first | {
        "quality_metrics": n + 1,
        "processing_history": n + 1,
        "versions": n + 1,
    }
    assert row(db, items[UPSERT_CHUNK + 7].policy_id)["title"] == "바뀐 제목 지원사업"


def test_an_older_collection_never_overwrites_but_its_source_id_is_kept(db: Database) -> None:
    upsert(db, [announcement(1, collected_at=DAY2)])
    before = row(db, "bizinfo:PBLN_000001")
    # A backfill of the previous day: older, different content, plus a second source's copy.
    older = announcement(1, summary="예전 요약입니다. 충분히 긴 요약 문장입니다.", collected_at=DAY1)
    copy = announcement(1, source="kstartup", source_id="K1", collected_at=DAY1)
    report = upsert(db, [older, copy], status="rejected", total=0.1)
    assert (report.updated, report.unchanged, report.sources_merged) == (0, 1, 1)
    assert report.transitions == []
    after = row(db, "bizinfo:PBLN_000001")
    assert after["source_ids"] == ["bizinfo:PBLN_000001", "kstartup:K1"]
    assert after["version"] == before["version"] + 1
    for column in ("summary", "status", "quality_score", "content_hash", "collected_at"):
        assert after[column] == before[column], column
    with db.engine.connect() as conn:
        history = conn.execute(
            sa.text("SELECT stage, details FROM processing_history WHERE policy_id = :id ORDER BY id"),
            {"id": "bizinfo:PBLN_000001"},
        ).all()
    assert [h.stage for h in history] == ["cold_path", "dedup"]
    assert history[1].details == {"version": after["version"], "sources_merged": True}
    # Re-running the backfill changes nothing more.
    assert upsert(db, [older, copy], status="rejected", total=0.1).sources_merged == 0
    assert row(db, "bizinfo:PBLN_000001")["version"] == after["version"]


def test_a_stored_duplicate_that_loses_is_archived_with_an_audit_row(db: Database) -> None:
    # Two policies for one programme from before cross-day dedup existed: one active, one rejected.
    upsert(db, [announcement(1, source="kstartup", source_id="K1", collected_at=DAY1)])
    upsert(db, [announcement(1, collected_at=DAY1)], cross_day=False, status="rejected", total=0.5)
    report = upsert(db, [announcement(1, collected_at=DAY2)])
    assert report.archived == 1
    assert row(db, "kstartup:K1")["source_ids"] == ["bizinfo:PBLN_000001", "kstartup:K1"]
    loser = row(db, "bizinfo:PBLN_000001")
    assert loser["status"] == "archived"
    with db.engine.connect() as conn:
        audit = conn.execute(
            sa.text("SELECT old_values, new_values FROM audit_logs WHERE entity_id = :id ORDER BY id"),
            {"id": "bizinfo:PBLN_000001"},
        ).all()
    assert audit[-1].old_values == {"status": "rejected"}
    assert audit[-1].new_values == {
        "status": "archived",
        "version": loser["version"],
        "merged_into": "kstartup:K1",
    }


def test_rows_written_before_the_dedup_key_existed_get_it(db: Database) -> None:
    upsert(db, [announcement(1, collected_at=DAY1)])
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE policies SET dedup_key = NULL"))
    version = row(db, "bizinfo:PBLN_000001")["version"]
    assert policies.fill_dedup_keys(db.engine, batch=1) == 1
    assert policies.fill_dedup_keys(db.engine) == 0
    assert row(db, "bizinfo:PBLN_000001")["dedup_key"] == "중소벤처기업부|2026-12-31"
    assert row(db, "bizinfo:PBLN_000001")["version"] == version
