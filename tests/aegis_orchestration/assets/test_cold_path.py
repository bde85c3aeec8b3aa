"""The cold-path assets over two days: a programme a second source posts a day later joins its policy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import dagster as dg
import pytest
import sqlalchemy as sa

from aegis_orchestration.definitions import all_assets
from aegis_orchestration.sources.landing import insert_changed
from aegis_shared.models import Announcement
from tests.aegis_orchestration.hot_path.helpers import announcement

DAY1, DAY2 = "2026-11-20", "2026-11-21"
PROGRAMME = "2026년 창업도약패키지 지원사업 공고"
# The same programme from bizinfo the next day: other spacing, punctuation and a region prefix.
REPOSTED = "[전국] 2026년  창업도약패키지(지원사업) 공고"


def land(resources: dict[str, object], day: str, items: Sequence[Announcement]) -> None:
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.begin() as conn:
        insert_changed(conn, items, date.fromisoformat(day))


def run(resources: dict[str, object], day: str) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        all_assets,
        selection=dg.AssetSelection.groups("cold_path"),
        resources=resources,
        partition_key=day,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    return result


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset
    )
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def state(resources: dict[str, object]) -> dict[str, object]:
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, status, source_ids, version FROM policies ORDER BY id")).all()
        counts = {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("quality_metrics", "processing_history", "audit_logs")
        }
    return {"policies": {r.id: (r.status, r.source_ids, r.version) for r in rows}, **counts}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=1, tzinfo=UTC)


@pytest.fixture(scope="module")
def two_days(make_resources: Callable[..., dict[str, object]]) -> dict[str, object]:
    resources = make_resources()
    # Day 1: kstartup posts the programme.
    land(
        resources,
        DAY1,
        [announcement(1, source="kstartup", source_id="176001", title=PROGRAMME, collected_at=at(DAY1))],
    )
    first = run(resources, DAY1)
    after_day1 = state(resources)
    # Day 2: bizinfo (which outranks kstartup within a day) reposts it, and a new programme appears.
    land(
        resources,
        DAY2,
        [
            announcement(2, title=REPOSTED, collected_at=at(DAY2)),
            announcement(3, title="2026년 수출바우처 지원사업 공고", collected_at=at(DAY2)),
        ],
    )
    second = run(resources, DAY2)
    return {"resources": resources, "first": first, "second": second, "after_day1": after_day1}


def test_day_one_creates_the_policy(two_days: dict[str, object]) -> None:
    assert two_days["after_day1"]["policies"] == {  # type: ignore[index]
        "kstartup:176001": ("active", ["kstartup:176001"], 1)
    }


def test_a_later_days_repost_joins_the_existing_policy_and_a_new_programme_gets_its_own(
    two_days: dict[str, object],
) -> None:
    after = state(two_days["resources"])  # type: ignore[arg-type]
    assert after["policies"] == {
        # One active policy for the programme, keeping its id, with both source ids; one new version.
        "kstartup:176001": ("active", ["bizinfo:PBLN_000002", "kstartup:176001"], 2),
        "bizinfo:PBLN_000003": ("active", ["bizinfo:PBLN_000003"], 1),
    }
    dedup_meta = metadata(two_days["second"], "deduplicated_announcements")  # type: ignore[arg-type]
    assert dedup_meta["records_joining_existing"] == 1 and dedup_meta["policies"] == 2
    written = metadata(two_days["second"], "policies")  # type: ignore[arg-type]
    assert (written["inserted"], written["updated"], written["unchanged"]) == (1, 1, 0)
    before = two_days["after_day1"]
    # Day 2 wrote one history and metrics row per written policy, and an audit row for the new one only.
    assert after["processing_history"] == before["processing_history"] + 2  # type: ignore[index]
    assert after["quality_metrics"] == before["quality_metrics"] + 2  # type: ignore[index]
    assert after["audit_logs"] == before["audit_logs"] + 1  # type: ignore[index]


def test_rerunning_either_day_writes_nothing(two_days: dict[str, object]) -> None:
    resources: dict[str, object] = two_days["resources"]  # type: ignore[assignment]
    before = state(resources)
    for day in (DAY2, DAY1):
        result = run(resources, day)
        written = metadata(result, "policies")
        assert (written["inserted"], written["updated"], written["sources_merged"]) == (0, 0, 0), day
        assert state(resources) == before, day
