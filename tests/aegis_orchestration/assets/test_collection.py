"""raw_announcements through the replay server into real Postgres and Kafka."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from aegis_orchestration.assets.collection import raw_announcements
from aegis_orchestration.resources import KafkaResource, PostgresResource
from aegis_orchestration.resources.sources import SourcesResource
from aegis_orchestration.sources.breaker import reset_breakers
from aegis_orchestration.sources.replay import ReplayServer
from aegis_shared.config import Settings

KEY = "test+key/==한"
DAYS = ("2026-03-01", "2026-03-02", "2026-03-03")
SOURCES = ("bizinfo", "kstartup", "mss", "rss", "web")
EXPECTED = {"bizinfo": (90, 88), "kstartup": (80, 79), "mss": (60, 60), "rss": (50, 50), "web": (40, 39)}


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(port=0, valid_keys={KEY}) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_faults(replay: ReplayServer) -> Iterator[None]:
    replay.clear()
    reset_breakers()
    yield
    replay.clear()
    reset_breakers()


def sources_resource(replay: ReplayServer, **overrides: object) -> SourcesResource:
    fields: dict[str, object] = {
        "bizinfo_base_url": replay.base_url,
        "data_portal_base_url": replay.base_url,
        "rss_base_url": replay.base_url,
        "web_base_url": replay.base_url,
        "bizinfo_api_key": KEY,
        "data_portal_service_key": KEY,
        "per_page": 30,
        "requests_per_second": 0,
        "retry_attempts": 3,
        "retry_initial_wait": 0.01,
        "retry_max_wait": 0.05,
        "retry_jitter": 0.01,
        "breaker_failure_threshold": 2,
    }
    fields.update(overrides)
    return SourcesResource(**fields)  # type: ignore[arg-type]


def materialize(replay: ReplayServer, day: str, source: str, **overrides: object) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [raw_announcements],
        partition_key=dg.MultiPartitionKey({"date": day, "source": source}),
        resources={
            "postgres": PostgresResource(),
            "kafka": KafkaResource(),
            "sources": sources_resource(replay, **overrides),
        },
        raise_on_error=False,
    )


def landed(engine: sa.Engine, source: str) -> set[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT source, source_id, content_hash FROM raw_announcements WHERE source = :s"),
            {"s": source},
        )
        return {tuple(row) for row in rows}  # type: ignore[misc]


def row_count(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM raw_announcements")).scalar_one())


def failure_text(result: dg.ExecuteInJobResult) -> str:
    """Every message in the step failure's error chain (Dagster wraps the asset's own error)."""
    error = result.get_step_failure_events()[0].event_specific_data.error  # type: ignore[union-attr]
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def metadata_of(result: dg.ExecuteInJobResult) -> dict[str, object]:
    [materialization] = result.asset_materializations_for_node("raw_announcements")
    return {key: value.value for key, value in materialization.metadata.items()}


def test_bizinfo_partition_lands_every_record_once(
    settings: Settings, pg_engine: sa.Engine, replay: ReplayServer
) -> None:
    first = materialize(replay, "2026-03-01", "bizinfo")
    assert first.success
    meta = metadata_of(first)
    assert meta["fetched"] == 90
    assert meta["rejected"] == 2
    assert meta["rejected_by_code"] == {"DP_2004": 1, "DP_2005": 1}
    assert meta["inserted"] + meta["unchanged"] == 88
    rows = landed(pg_engine, "bizinfo")
    assert len({(s, i) for s, i, _ in rows}) >= 88

    second = materialize(replay, "2026-03-01", "bizinfo")
    assert second.success
    again = metadata_of(second)
    assert again["inserted"] == 0
    assert again["unchanged"] == 88
    assert landed(pg_engine, "bizinfo") == rows


def test_failing_source_fails_only_its_partition(
    settings: Settings, pg_engine: sa.Engine, replay: ReplayServer
) -> None:
    replay.fail_always("bizinfo", "badkey")
    result = materialize(replay, "2026-03-02", "bizinfo")
    assert not result.success
    assert "DP_1005" in failure_text(result)


def test_backfill_three_days_all_sources_is_idempotent(
    settings: Settings, pg_engine: sa.Engine, replay: ReplayServer
) -> None:
    def backfill() -> dict[tuple[str, str], dict[str, object]]:
        out = {}
        for day in DAYS:
            for source in SOURCES:
                result = materialize(replay, day, source)
                assert result.success, (day, source)
                out[(day, source)] = metadata_of(result)
        return out

    first = backfill()
    after_first = {source: landed(pg_engine, source) for source in SOURCES}
    total_after_first = row_count(pg_engine)
    second = backfill()
    assert {source: landed(pg_engine, source) for source in SOURCES} == after_first
    assert row_count(pg_engine) == total_after_first

    for (_, source), meta in [*first.items(), *second.items()]:
        fetched, good = EXPECTED[source]
        # Nothing silently dropped: every fetched item is landed (new or unchanged) or rejected.
        assert meta["fetched"] == fetched
        assert meta["inserted"] + meta["unchanged"] + meta["duplicates_in_fetch"] == good
        assert meta["rejected"] == fetched - good
    assert all(meta["inserted"] == 0 for meta in second.values())
    for source in SOURCES:
        assert {i for _, i, _ in after_first[source]} >= {i for _, i, _ in landed(pg_engine, source)}
        assert len(after_first[source]) >= EXPECTED[source][1]


def test_failing_source_leaves_other_partitions_succeeding(
    settings: Settings, pg_engine: sa.Engine, replay: ReplayServer
) -> None:
    replay.fail_always("mss", "http503")
    failed = materialize(replay, "2026-03-04", "mss")
    assert not failed.success
    assert "DP_1001" in failure_text(failed)
    ok = materialize(replay, "2026-03-04", "kstartup")
    assert ok.success
