"""raw_announcements through the replay server into real PostgreSQL and Kafka.

Expectations are computed from the bundled snapshot and the partition rule (a day holds what a
source registered or updated that day), shifted by the replay server's anchor; never pinned.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from confluent_kafka import Consumer

from aegis_orchestration.assets.collection import FEEDS_CHECK, raw_announcements
from aegis_orchestration.pipeline.policies import load_collected
from aegis_orchestration.resources import KafkaResource, MetricsResource, PostgresResource
from aegis_orchestration.resources.sources import SourcesResource
from aegis_orchestration.sources.breaker import reset_breakers
from aegis_orchestration.sources.days import raw_days, record_days
from aegis_orchestration.sources.landing import insert_changed
from aegis_orchestration.sources.replay import ReplayServer
from aegis_orchestration.sources.snapshot import (
    load_announcements,
    load_pages,
    snapshot_files,
    snapshot_window,
)
from aegis_shared.config import Settings
from aegis_shared.models import Announcement
from tests.aegis_orchestration.hot_path.helpers import Database

KEY = "test+key/==한"
ANCHOR = date(2026, 11, 1)  # fixed, so the days below are partitions that exist whatever today is
SOURCES = ("bizinfo", "kstartup", "mss", "rss", "web")
PER_PAGE = 10


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(port=0, valid_keys={KEY}, anchor=ANCHOR) as server:
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
        "per_page": PER_PAGE,
        "requests_per_second": 0,
        "retry_attempts": 3,
        "retry_initial_wait": 0.01,
        "retry_max_wait": 0.05,
        "retry_jitter": 0.01,
        "breaker_failure_threshold": 2,
    }
    fields.update(overrides)
    return SourcesResource(**fields)  # type: ignore[arg-type]


def materialize(
    replay: ReplayServer, db: Database, day: date, source: str, **overrides: object
) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [raw_announcements],
        partition_key=dg.MultiPartitionKey({"date": day.isoformat(), "source": source}),
        resources={
            "postgres": PostgresResource(url=db.url),
            "kafka": KafkaResource(),
            "metrics": MetricsResource(),
            "sources": sources_resource(replay, **overrides),
        },
        raise_on_error=False,
    )


def metadata_of(result: dg.ExecuteInJobResult) -> dict[str, object]:
    [materialization] = result.asset_materializations_for_node("raw_announcements")
    return {key: value.value for key, value in materialization.metadata.items()}


def check_of(result: dg.ExecuteInJobResult) -> dg.AssetCheckEvaluation:
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == FEEDS_CHECK]
    return evaluation


def failure_text(result: dg.ExecuteInJobResult) -> str:
    """Every message in the step failure's error chain (Dagster wraps the asset's own error)."""
    error = result.get_step_failure_events()[0].event_specific_data.error  # type: ignore[union-attr]
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def rows(engine: sa.Engine, source: str, day: date | None = None) -> list[tuple[str, str, date]]:
    query = "SELECT source_id, content_hash, partition_date FROM raw_announcements WHERE source = :s"
    params: dict[str, object] = {"s": source}
    if day is not None:
        query += " AND partition_date = :d"
        params["d"] = day
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text(query), params)]  # type: ignore[misc]


# -- expectations from the snapshot and the rule ------------------------------------------------


def shifted_days(days: set[date] | None, replay: ReplayServer) -> set[date]:
    return {d + timedelta(days=replay.shift) for d in days or ()}


def records_by_day(source: str, replay: ReplayServer) -> dict[str, set[date]]:
    """Each record's partition days, as the anchored server serves them."""
    return {r.source_id: shifted_days(record_days(r), replay) for r in load_announcements(source)}


def rejections_on(source: str, day: date, replay: ReplayServer) -> int:
    return sum(
        1
        for page in load_pages(source)
        for rejected in page.rejected
        if day in shifted_days(raw_days(source, rejected.raw), replay)
    )


def bizinfo_activity(replay: ReplayServer) -> list[date]:
    """Each bizinfo item's last change (registration or update), rejected items included."""
    items = []
    for file in snapshot_files("bizinfo"):
        doc = json.loads(file.read_text(encoding="utf-8"))["jsonArray"]
        items += doc if isinstance(doc, list) else doc["item"]
    return [max(shifted_days(raw_days("bizinfo", item), replay)) for item in items]


# -- tests --------------------------------------------------------------------------------------


def test_partition_holds_only_what_its_source_registered_or_updated_that_day(
    settings: Settings, db: Database, replay: ReplayServer
) -> None:
    _, last = snapshot_window(ANCHOR)
    assert last == ANCHOR - timedelta(days=1)
    for source in SOURCES:
        by_id = records_by_day(source, replay)
        day = max(d for days in by_id.values() for d in days if d <= last)  # its newest day with data
        expected = {sid for sid, days in by_id.items() if day in days}
        result = materialize(replay, db, day, source)
        assert result.success, source
        assert {sid for sid, _, _ in rows(db.engine, source, day)} == expected
        meta = metadata_of(result)
        if source != "web":  # web's refused detail page has no date offline; its list row decides
            assert meta["fetched"] == len(expected) + rejections_on(source, day, replay)
        assert check_of(result).passed


def test_thirty_one_day_backfill_fetches_each_day_once(
    settings: Settings, db: Database, replay: ReplayServer
) -> None:
    _, last = snapshot_window(ANCHOR)
    days = [last - timedelta(days=n) for n in range(30, -1, -1)]  # oldest first, as a backfill
    requests: dict[tuple[str, date], int] = {}
    served: dict[tuple[str, date], int] = {}
    fetched: dict[tuple[str, date], object] = {}
    for day in days:
        for source in SOURCES:
            before, items_before = replay.request_count(source), replay.items_served(source)
            result = materialize(replay, db, day, source)
            assert result.success, (day, source)
            requests[(source, day)] = replay.request_count(source) - before
            served[(source, day)] = replay.items_served(source) - items_before
            fetched[(source, day)] = metadata_of(result)["fetched"]

    for source in SOURCES:
        by_id = records_by_day(source, replay)
        in_window = {sid: sorted(d for d in ds if d in days) for sid, ds in by_id.items()}
        in_window = {sid: ds for sid, ds in in_window.items() if ds}
        assert in_window, source
        landed = rows(db.engine, source)
        # Every record of the window landed once, in the first partition (day) that held it.
        assert Counter(sid for sid, _, _ in landed) == Counter(set(in_window))
        assert {(sid, d) for sid, _, d in landed} == {(sid, ds[0]) for sid, ds in in_window.items()}
        for day in days:
            on_day = sum(1 for ds in in_window.values() if day in ds)
            if source in ("bizinfo", "kstartup", "mss"):
                assert fetched[(source, day)] == on_day + rejections_on(source, day, replay), (source, day)

    # Sources with their own date filter: each day is asked for once and served only its items.
    for source in ("kstartup", "mss"):
        for day in days:
            items = served[(source, day)]
            assert requests[(source, day)] == max(1, math.ceil(items / PER_PAGE)), (source, day)
        catalogue = sum(page.item_count for page in load_pages(source))
        window_items = sum(fetched[(source, d)] for d in days)  # type: ignore[misc]
        # Exactly the window's items were served, each once; not the catalogue once per day.
        assert sum(served[(source, d)] for d in days) == window_items < catalogue

    # bizinfo has no date filter: its newest-first list is read down to the day, never further.
    activity = bizinfo_activity(replay)
    full_read = math.ceil(len(activity) / PER_PAGE)
    for day in days:
        newer = sum(1 for d in activity if d >= day)
        assert requests[("bizinfo", day)] == min(full_read, newer // PER_PAGE + 1), day
    assert sum(requests[("bizinfo", d)] for d in days) < len(days) * full_read

    # Boards: list pages down to the day, and every detail page fetched once over the backfill.
    details = Counter((r.path, r.raw_query) for r in replay.requests_for("web") if r.path.endswith("view.do"))
    assert details and set(details.values()) == {1}
    # Feeds have no filter and no paging: one read per feed per day.
    assert {requests[("rss", d)] for d in days} == {5}


def test_mss_contacts_are_masked_in_postgres_and_in_the_published_events(
    settings: Settings, db: Database, replay: ReplayServer
) -> None:
    by_id = records_by_day("mss", replay)
    _, last = snapshot_window(ANCHOR)
    day = max(d for days in by_id.values() for d in days if d <= last)
    assert materialize(replay, db, day, "mss").success
    with db.engine.connect() as connection:
        payloads = [
            json.dumps(p, ensure_ascii=False)
            for p in connection.execute(
                sa.text("SELECT payload FROM raw_announcements WHERE source = :s"), {"s": "mss"}
            ).scalars()
        ]
    events = [
        value.decode("utf-8")
        for key, value in topic_messages(KafkaResource().settings().topic("collection"), settings)
        if key.startswith(b"mss:")
    ]
    assert payloads and len(events) >= len(payloads)
    # The snapshot's contacts are staff{i}@korea.kr and 044-204-{7000 + i}; only masks are kept.
    for text in payloads + events:
        assert "staff" not in text and "044-204-7" not in text
    assert all("s***@korea.kr" in text and "044-204-****" in text for text in payloads)


def test_recollecting_a_day_lands_nothing_new(settings: Settings, db: Database, replay: ReplayServer) -> None:
    _, last = snapshot_window(ANCHOR)
    first = materialize(replay, db, last, "bizinfo")
    assert first.success and metadata_of(first)["inserted"] > 0
    before = rows(db.engine, "bizinfo")
    again = materialize(replay, db, last, "bizinfo")
    assert again.success
    meta = metadata_of(again)
    assert meta["inserted"] == 0 and meta["unchanged"] == metadata_of(first)["inserted"]
    assert meta["rejections_recorded"] == 0 and meta["dlq_published"] == 0
    assert sorted(rows(db.engine, "bizinfo")) == sorted(before)


def announcement(title: str, collected_at_offset: int) -> Announcement:
    from datetime import UTC, datetime

    return Announcement(
        source="bizinfo",
        source_id="PBLN_REVERT",
        title=title,
        collected_at=datetime(2026, 11, 1, 9, tzinfo=UTC) + timedelta(minutes=collected_at_offset),
    )


def test_a_then_b_then_a_lands_three_versions_and_ends_at_a(settings: Settings, db: Database) -> None:
    day = date(2026, 11, 1)
    a, b, a_again = announcement("원래 제목", 0), announcement("바뀐 제목", 1), announcement("원래 제목", 2)
    landed = []
    for record in (a, b, a_again, a_again):  # the last one is an unchanged re-collection
        with db.engine.begin() as connection:
            landed.append(len(insert_changed(connection, [record], day)))
    assert landed == [1, 1, 1, 0]
    assert [h for _, h, _ in rows(db.engine, "bizinfo")].count(a.content_hash) == 2
    [latest] = [r for r in load_collected(db.engine, day) if r.source_id == "PBLN_REVERT"]
    assert latest.title == "원래 제목" and latest.content_hash == a.content_hash


def test_two_partitions_landing_the_same_key_at_once_insert_it_once(settings: Settings, db: Database) -> None:
    record = announcement("동시 수집", 0)
    barrier = threading.Barrier(6)
    counts: list[int] = []

    def land(offset: int) -> None:
        barrier.wait()
        with db.engine.begin() as connection:
            counts.append(
                len(insert_changed(connection, [record], date(2026, 11, 1) + timedelta(days=offset)))
            )

    threads = [threading.Thread(target=land, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == [0, 0, 0, 0, 0, 1]
    assert len(rows(db.engine, "bizinfo")) == 1


def topic_messages(topic: str, settings: Settings, idle: float = 3.0) -> list[tuple[bytes, bytes]]:
    """Every (key, value) on ``topic`` so far, read until ``idle`` seconds pass without one."""
    import time

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"test-read-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    out: list[tuple[bytes, bytes]] = []
    deadline, last = time.monotonic() + 60, time.monotonic()
    try:
        while time.monotonic() < deadline and (not out or time.monotonic() - last < idle):
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            out.append((message.key() or b"", message.value() or b""))
            last = time.monotonic()
    finally:
        consumer.close()
    return out


def consume_dlq(settings: Settings, *, code: str, payload: bytes, timeout: float = 30.0) -> dict[str, bytes]:
    """The headers of the DLQ message carrying ``payload`` with ``code`` (read from the broker)."""
    import time

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"test-dlq-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([settings.topic("dlq")])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            headers = {name: value for name, value in message.headers() or []}
            if message.value() == payload and headers.get("error-code") == code.encode():
                return headers
    finally:
        consumer.close()
    raise AssertionError(f"no DLQ message with {code} and the original bytes within {timeout}s")


def test_collection_rejection_is_kept_in_postgres_and_sent_to_the_dlq_with_its_bytes(
    settings: Settings, db: Database, replay: ReplayServer
) -> None:
    # The snapshot's refused bizinfo items, and the day each one belongs to once anchored.
    refused = [r for page in load_pages("bizinfo") for r in page.rejected]
    assert refused
    rejection = refused[0]
    day = max(shifted_days(raw_days("bizinfo", rejection.raw), replay))
    result = materialize(replay, db, day, "bizinfo")
    assert result.success
    assert metadata_of(result)["rejections_recorded"] >= 1

    with db.engine.connect() as connection:
        stored = connection.execute(
            sa.text(
                "SELECT code, reason, original, partition_date FROM collection_rejections "
                "WHERE source = :s AND source_id = :i"
            ),
            {"s": "bizinfo", "i": rejection.source_id},
        ).one()
    assert stored.code == rejection.code and stored.reason == rejection.reason
    assert stored.partition_date == day
    original = bytes(stored.original)
    # The original bytes are the item as served: the same JSON object, dates shifted by the anchor.
    served_item = json.loads(original)
    assert served_item["pblancId"] == rejection.raw["pblancId"]
    assert served_item["pblancNm"] == rejection.raw["pblancNm"]

    headers = consume_dlq(settings, code=rejection.code, payload=original)
    assert headers["original-source"] == b"bizinfo"
    assert headers["original-source-id"] == str(rejection.source_id).encode()
    assert headers["error-reason"]

    # Collecting the day again records no second row and no second DLQ message.
    again = materialize(replay, db, day, "bizinfo")
    assert metadata_of(again)["rejections_recorded"] == 0 and metadata_of(again)["dlq_published"] == 0


def test_a_404_feed_fails_its_check_while_the_other_feeds_land(
    settings: Settings, db: Database, replay: ReplayServer
) -> None:
    feeds = ["/rss/dept_mss.xml", "/rss/dept_motie.xml", "/rss/policy.xml", "/rss/dept_msit.xml"]
    by_id = records_by_day("rss", replay)
    live = ("dept_mss-", "policy-", "dept_msit-")
    days = sorted({d for sid, ds in by_id.items() if sid.startswith(live) for d in ds}, reverse=True)
    day = days[0]
    result = materialize(replay, db, day, "rss", rss_feeds=feeds)
    assert result.success  # the other feeds still land
    evaluation = check_of(result)
    assert not evaluation.passed
    failures = evaluation.metadata["failures"].value
    assert [(f["target"], f["code"]) for f in failures] == [("/rss/dept_motie.xml", "DP_1006")]
    meta = metadata_of(result)
    assert meta["failed_feeds"] == 1 and "dept_motie" in str(meta["feed_failures"])
    expected = {sid for sid, ds in by_id.items() if sid.startswith(live) and day in ds}
    assert {sid for sid, _, _ in rows(db.engine, "rss", day)} == expected

    healthy = materialize(replay, db, day, "rss", rss_feeds=[f for f in feeds if "motie" not in f])
    assert check_of(healthy).passed


def test_failing_source_fails_only_its_partition(
    settings: Settings, db: Database, replay: ReplayServer
) -> None:
    _, last = snapshot_window(ANCHOR)
    replay.fail_always("bizinfo", "badkey")
    result = materialize(replay, db, last, "bizinfo")
    assert not result.success
    assert "DP_1005" in failure_text(result)
    replay.fail_always("mss", "http503")
    failed = materialize(replay, db, last, "mss")
    assert not failed.success and "DP_1001" in failure_text(failed)
    ok = materialize(replay, db, last, "rss")
    assert ok.success


def test_registry_upgrade_replaces_the_old_unique_index(settings: Settings, db: Database) -> None:
    """A database landed under raw_announcements 1.0.0 migrates: the (source, id, hash) index goes."""
    from aegis_shared.database import apply_registry

    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX idx_raw_announcements_latest"))
        connection.execute(
            sa.text(
                "CREATE UNIQUE INDEX uq_raw_announcements_source_key "
                "ON raw_announcements (source, source_id, content_hash)"
            )
        )
    apply_registry(db.engine)
    indexes = {ix["name"]: ix for ix in sa.inspect(db.engine).get_indexes("raw_announcements")}
    assert "uq_raw_announcements_source_key" not in indexes
    assert indexes["idx_raw_announcements_latest"]["column_names"] == [
        "source",
        "source_id",
        "collected_at",
        "id",
    ]
    day = date(2026, 11, 1)
    for record in (announcement("A", 0), announcement("B", 1), announcement("A", 2)):
        with db.engine.begin() as connection:
            assert len(insert_changed(connection, [record], day)) == 1
