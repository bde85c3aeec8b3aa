"""Explaining decisions from the user's side: `aegis pipeline preview|explain`, and serving reads
that apply the lifecycle rule, on real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from aegis_orchestration.cli import main
from aegis_orchestration.pipeline import decisions, dedup, lifecycle, policies
from aegis_orchestration.pipeline.serving import serving_fingerprints
from aegis_shared.config import get_settings
from aegis_shared.models import Announcement
from tests.aegis_orchestration.conftest import AS_OF
from tests.aegis_orchestration.hot_path.helpers import Database, announcement
from tests.aegis_orchestration.pipeline.test_preview import programme


def _jsonl(path: Path, items: list[Announcement]) -> Path:
    path.write_text("\n".join(a.model_dump_json() for a in items) + "\n", encoding="utf-8")
    return path


def test_preview_prints_each_policy_with_its_status_and_why(tmp_path: Path) -> None:
    ended = programme("bizinfo", "old", period_end=date(2026, 11, 1), period_start=date(2026, 10, 1))
    items = [
        programme("bizinfo", "P1"),
        programme("kstartup", "77", "2026년도 청년창업 지원사업 모집공고"),
        ended,
    ]
    result = CliRunner().invoke(
        main, ["pipeline", "preview", str(_jsonl(tmp_path / "a.jsonl", items)), "--today", "2026-11-20"]
    )
    assert result.exit_code == 0, result.output
    assert "as of 2026-11-20" in result.output
    assert "bizinfo:P1" in result.output and "active" in result.output
    assert "kstartup:77 merged into bizinfo:P1" in result.output
    assert "bizinfo:old" in result.output and "ended on 2026-11-01, before 2026-11-20" in result.output


def test_preview_json_is_the_preview_object(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "a.jsonl", [programme("kstartup", "1", closed_by_source=True)])
    result = CliRunner().invoke(main, ["pipeline", "preview", str(path), "--today", "2026-11-20", "--json"])
    assert result.exit_code == 0, result.output
    (policy,) = json.loads(result.output)["policies"]
    assert policy["status"] == "archived" and policy["reasons"][0]["code"] == "closed_by_source"


def test_preview_refuses_a_line_that_is_not_an_announcement_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(programme("kstartup", "1").model_dump_json() + '\n{"source": "x"}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["pipeline", "preview", str(path), "--today", "2026-11-20"])
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.output and "nothing was previewed" in result.output


@pytest.fixture
def stored_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The cold path's decisions for a small set, written to PostgreSQL the way the asset writes them."""
    items = [
        programme("bizinfo", "P1"),
        programme("kstartup", "77", "2026년도 청년창업 지원사업 모집공고"),
        programme("mss", "9", "2026년 수출바우처 모집", period_end=AS_OF - timedelta(days=1)),
    ]
    rules = lifecycle.Rules()
    candidates = dedup.deduplicate(items)
    scores = decisions.decide(
        candidates, decisions.score(candidates, today=AS_OF, rules=rules).scores, today=AS_OF, rules=rules
    )
    policies.upsert_policies(db.engine, candidates, scores, run_id="run-1")
    monkeypatch.setenv("AEGIS_POSTGRES_URL", db.url)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_explain_shows_a_stored_policys_status_reason_sources_and_trail(stored_db: Database) -> None:
    result = CliRunner().invoke(main, ["pipeline", "explain", "bizinfo:P1"])
    assert result.exit_code == 0, result.output
    assert "status   active" in result.output and "quality 1.00" in result.output
    assert "bizinfo:P1, kstartup:77" in result.output
    assert "kstartup:77 merged in" in result.output


def test_explain_follows_a_merged_source_id_to_its_policy(stored_db: Database) -> None:
    result = CliRunner().invoke(main, ["pipeline", "explain", "kstartup:77", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["policy"]["id"] == "bizinfo:P1" and data["asked"] == "kstartup:77"


def test_explain_says_why_an_ended_policy_is_archived(stored_db: Database) -> None:
    result = CliRunner().invoke(main, ["pipeline", "explain", "mss:9"])
    assert result.exit_code == 0, result.output
    assert "status   archived" in result.output
    assert "ended on 2026-11-19, before 2026-11-20" in result.output


def test_explain_of_an_unknown_id_fails_clearly(stored_db: Database) -> None:
    result = CliRunner().invoke(main, ["pipeline", "explain", "bizinfo:nope"])
    assert result.exit_code == 1 and "no policy or source id 'bizinfo:nope'" in result.output


def test_serving_reads_never_return_an_ended_closed_or_deleted_policy(db: Database) -> None:
    rows = {
        "p:open": announcement(1),
        "p:ended": announcement(2, period_end=AS_OF - timedelta(days=1)),
        "p:ends-today": announcement(3, period_end=AS_OF),
        "p:closed": announcement(4, closed_by_source=True),
        "p:deleted": announcement(5),
    }
    with db.engine.begin() as conn:
        for pid, a in rows.items():
            conn.execute(
                sa.text(
                    "INSERT INTO policies (id, source, source_id, title, status, content_hash, period_end, "
                    "closed_by_source, deleted_at) VALUES (:id, 'bizinfo', :id, :title, 'active', :hash, "
                    ":end, :closed, CASE WHEN :id = 'p:deleted' THEN now() END)"
                ),
                {
                    "id": pid,
                    "title": a.title,
                    "hash": a.content_hash,
                    "end": a.period_end,
                    "closed": a.closed_by_source,
                },
            )
    # All five rows say "active"; only what a founder can still apply to is served (and synced).
    assert set(serving_fingerprints(db.engine, "d")) == {"p:open", "p:ends-today"}
