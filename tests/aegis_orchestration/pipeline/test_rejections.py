"""Rejection records on real PostgreSQL: written once by dedupe key, set-based, pending rows refused."""

from __future__ import annotations

import json

import sqlalchemy as sa

from aegis_orchestration.pipeline.rejections import dedupe_key, record_rejections
from aegis_orchestration.pipeline.validation import ValidationRejection
from aegis_shared.database import apply_registry
from tests.aegis_orchestration.hot_path.helpers import Database

TOO_LONG = ValidationRejection("bizinfo", "PBLN_1", "DP_2006", "title has 600 characters; the limit is 500")
BAD_URL = ValidationRejection("bizinfo", "PBLN_1", "DP_2007", "url is not http(s)")
EMPTY = ValidationRejection("kstartup", "KS_9", "DP_2005", "title is empty")


def history(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.text(
                    "SELECT stage, status, details, run_id, dedupe_key FROM processing_history ORDER BY id"
                )
            )
        ]


def add_policy(engine: sa.Engine, source: str, source_id: str, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO policies (id, source, source_id, title, status, content_hash) "
                "VALUES (:id, :source, :source_id, '공고', :status, 'h')"
            ),
            {"id": f"{source}:{source_id}", "source": source, "source_id": source_id, "status": status},
        )


def policy(engine: sa.Engine, source: str, source_id: str) -> tuple[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, version FROM policies WHERE source = :s AND source_id = :i"),
            {"s": source, "i": source_id},
        ).one()
    return row.status, row.version


def test_every_rejection_is_kept_with_code_reason_and_a_stable_key(db: Database) -> None:
    assert record_rejections(db.engine, [TOO_LONG, EMPTY], run_id="run-1") == 2
    rows = history(db.engine)
    assert [(r[0], r[1], r[3]) for r in rows] == [("validation", "rejected", "run-1")] * 2
    assert [r[2] for r in rows] == [TOO_LONG.as_dict(), EMPTY.as_dict()]
    assert [r[4] for r in rows] == [dedupe_key(TOO_LONG.as_dict()), dedupe_key(EMPTY.as_dict())]
    assert rows[0][4] != rows[1][4] and rows[0][4].startswith("validation:")


def test_a_rerun_writes_nothing(db: Database) -> None:
    record_rejections(db.engine, [TOO_LONG, EMPTY], run_id="run-1")
    before = history(db.engine)
    assert record_rejections(db.engine, [EMPTY, TOO_LONG], run_id="run-2") == 0
    # The same rejection twice in one batch is one row too.
    assert record_rejections(db.engine, [EMPTY, EMPTY], run_id="run-3") == 0
    assert history(db.engine) == before


def test_two_different_rejections_of_one_record_are_both_kept(db: Database) -> None:
    assert record_rejections(db.engine, [TOO_LONG], run_id="run-1") == 1
    assert record_rejections(db.engine, [TOO_LONG, BAD_URL], run_id="run-2") == 1
    assert [(r[2]["code"], r[3]) for r in history(db.engine)] == [("DP_2006", "run-1"), ("DP_2007", "run-2")]


def test_a_pending_record_becomes_rejected_and_other_statuses_stay(db: Database) -> None:
    add_policy(db.engine, "bizinfo", "PBLN_1", "pending_validation")
    add_policy(db.engine, "kstartup", "KS_9", "active")
    add_policy(db.engine, "mss", "M_1", "pending_validation")
    record_rejections(db.engine, [TOO_LONG, BAD_URL, EMPTY], run_id="run-1")
    # Two rejections of one pending record: one transition, one version bump.
    assert policy(db.engine, "bizinfo", "PBLN_1") == ("rejected", 2)
    assert policy(db.engine, "kstartup", "KS_9") == ("active", 1)
    assert policy(db.engine, "mss", "M_1") == ("pending_validation", 1)
    # A re-run finds nothing pending any more: no further version.
    record_rejections(db.engine, [TOO_LONG], run_id="run-2")
    assert policy(db.engine, "bizinfo", "PBLN_1") == ("rejected", 2)


def test_the_key_has_a_partial_unique_index(db: Database) -> None:
    with db.engine.connect() as conn:
        definition = conn.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_processing_history_dedupe_key'")
        ).scalar_one()
        assert "UNIQUE" in definition and "WHERE (dedupe_key IS NOT NULL)" in definition
        # Ordinary history rows have no key and never collide.
        for _ in range(2):
            conn.execute(
                sa.text("INSERT INTO processing_history (stage, status) VALUES ('cold_path', 'active')")
            )


def test_rejections_from_before_the_key_existed_are_not_written_again(db: Database) -> None:
    # The table as version 1.0.0 had it, with a rejection the old code wrote (no key).
    with db.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE processing_history DROP COLUMN dedupe_key"))
        conn.execute(
            sa.text(
                "INSERT INTO processing_history (policy_id, stage, status, details, run_id) "
                "VALUES (NULL, 'validation', 'rejected', CAST(:d AS jsonb), 'old-run')"
            ),
            {"d": json.dumps(TOO_LONG.as_dict(), ensure_ascii=False)},
        )
    result = apply_registry(db.engine)
    assert result.applied
    assert {(s.table, s.kind) for s in result.plan.steps} == {
        ("processing_history", "add_column"),
        ("processing_history", "create_index"),
    }

    assert record_rejections(db.engine, [TOO_LONG, EMPTY], run_id="new-run") == 1
    rows = history(db.engine)
    assert [(r[2]["code"], r[3], r[4]) for r in rows] == [
        ("DP_2006", "old-run", dedupe_key(TOO_LONG.as_dict())),
        ("DP_2005", "new-run", dedupe_key(EMPTY.as_dict())),
    ]
