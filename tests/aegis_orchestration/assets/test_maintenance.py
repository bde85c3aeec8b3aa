"""expiry_job on the real stack: a period that ended yesterday (Seoul) leaves Postgres's active set and
every serving store; open-ended and future policies stay; a second run changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import dagster as dg
import pytest
import sqlalchemy as sa

from aegis_orchestration.assets.stores import store_checks
from aegis_orchestration.definitions import all_assets
from aegis_orchestration.jobs import expiry_job
from aegis_orchestration.sources.landing import insert_changed
from aegis_shared.stores.base import PolicyStore
from tests.aegis_orchestration.conftest import as_of
from tests.aegis_orchestration.hot_path.helpers import announcement

COLLECTED = "2026-11-10"
AS_OF = "2026-11-20"  # the partition day in Seoul: "yesterday" is 2026-11-19

RECORDS = {
    "ended-yesterday": announcement(1, period_end=date(2026, 11, 19)),
    "ends-today": announcement(2, period_end=date(2026, 11, 20)),
    "future": announcement(3, period_end=date(2027, 2, 28)),
    "open-ended": announcement(4, period_end=None, period_open_ended=True, period_note="예산 소진 시"),
}


def ids_by_name(resources: dict[str, object]) -> dict[str, str]:
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT source_id, id FROM policies")).all())
    return {name: rows[record.source_id] for name, record in RECORDS.items()}


def snapshot(resources: dict[str, object]) -> dict[str, object]:
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("processing_history", "audit_logs", "quality_metrics")
        } | {
            # Policy events only: every store sync also reports a DataSyncCompleted through the outbox.
            "event_outbox": conn.execute(
                sa.text(
                    "SELECT count(*) FROM event_outbox "
                    "WHERE convert_from(payload, 'UTF8')::jsonb ->> 'eventType' = 'PolicyQualityUpdated'"
                )
            ).scalar_one(),
            "policies": dict(
                (row.id, (row.status, row.version))
                for row in conn.execute(sa.text("SELECT id, status, version FROM policies"))
            ),
            "unpublished": conn.execute(
                sa.text("SELECT count(*) FROM event_outbox WHERE published_at IS NULL")
            ).scalar_one(),
        }


def store_ids(resources: dict[str, object]) -> dict[str, set[str]]:
    found = {}
    for key in ("vectors", "graph", "search"):
        store: PolicyStore = resources[key].open()  # type: ignore[attr-defined]
        try:
            found[key] = set(store.fingerprints())
        finally:
            store.close()
    return found


def run_expiry(resources: dict[str, object]) -> dg.ExecuteInProcessResult:
    defs = dg.Definitions(
        assets=all_assets, asset_checks=store_checks, jobs=[expiry_job], resources=resources
    )
    return defs.resolve_job_def("expiry_job").execute_in_process(
        partition_key=AS_OF, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


@pytest.fixture(scope="module")
def served(make_resources: Callable[..., dict[str, object]]) -> dict[str, object]:
    resources = make_resources()
    engine: sa.Engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.begin() as conn:
        insert_changed(conn, list(RECORDS.values()), date.fromisoformat(COLLECTED))
    # Scored while every programme was still open; time then moves on to AS_OF.
    with as_of(date.fromisoformat(COLLECTED)):
        result = dg.materialize(
            [*all_assets, *store_checks],
            selection=dg.AssetSelection.groups("cold_path", "serving"),
            resources=resources,
            partition_key=COLLECTED,
            instance=dg.DagsterInstance.ephemeral(),
        )
    assert result.success
    ids = ids_by_name(resources)
    assert snapshot(resources)["policies"] == {pid: ("active", 1) for pid in ids.values()}
    assert all(found == set(ids.values()) for found in store_ids(resources).values())
    return resources


def test_expiry_archives_the_ended_policy_and_the_stores_drop_it(served: dict[str, object]) -> None:
    ids = ids_by_name(served)
    before = snapshot(served)
    result = run_expiry(served)
    assert result.success
    materialization = next(
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("expired_policies")
    )
    meta = {k: getattr(v, "value", v) for k, v in materialization.materialization.metadata.items()}
    assert (meta["as_of"], meta["archived"], meta["archived_ids"]) == (AS_OF, 1, [ids["ended-yesterday"]])
    assert meta["outbox_events_published"] == 1

    after = snapshot(served)
    expected = dict(before["policies"])  # type: ignore[call-overload]
    expected[ids["ended-yesterday"]] = ("archived", 2)
    assert after["policies"] == expected
    for table in ("processing_history", "audit_logs", "event_outbox"):
        assert after[table] == before[table] + 1, table  # type: ignore[operator]
    assert after["unpublished"] == 0

    remaining = {ids["ends-today"], ids["future"], ids["open-ended"]}
    assert store_ids(served) == {"vectors": remaining, "graph": remaining, "search": remaining}
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert len(result.get_asset_check_evaluations()) == 3

    # Same day again: nothing left to archive, not a row, version or event more.
    again = run_expiry(served)
    assert again.success
    assert snapshot(served) == after
    assert store_ids(served) == {"vectors": remaining, "graph": remaining, "search": remaining}
