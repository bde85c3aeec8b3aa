"""The generic repository on real registry tables: reads, writes, upserts, pages, coded errors."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aegis_shared.database import SchemaRegistry, apply_registry
from aegis_shared.database.engine import async_session_factory, create_async_db_engine
from aegis_shared.database.repository import AsyncRepository, Repository
from aegis_shared.database.transaction import transaction
from aegis_shared.errors import DatabaseError, ValidationError

TABLES = SchemaRegistry.load().metadata().tables


def _policy(n: int, **extra: object) -> dict:
    return {
        "id": f"p{n:03d}",
        "source": "bizinfo",
        "source_id": f"B-{n}",
        "title": f"공고 {n}",
        "status": "pending_validation",
        "content_hash": f"h{n}",
        **extra,
    }


@pytest.fixture
def db(fresh_engine: sa.Engine) -> sa.Engine:
    apply_registry(fresh_engine)
    return fresh_engine


@pytest.fixture
def policies(db: sa.Engine) -> Repository:
    return Repository(TABLES["policies"], db)


def test_create_get_update_soft_delete(policies: Repository) -> None:
    created = policies.create(_policy(1, region_codes=["11", "26"]))
    assert created["version"] == 1 and created["source_ids"] == [] and created["created_at"] is not None
    assert policies.get("p001")["region_codes"] == ["11", "26"]
    assert policies.get("missing") is None
    updated = policies.update("p001", {"status": "active", "quality_score": 0.82})
    assert (updated["status"], updated["quality_score"]) == ("active", 0.82)
    assert policies.soft_delete("p001") is True
    assert policies.soft_delete("p001") is False
    assert policies.get("p001") is None
    assert policies.get("p001", include_deleted=True)["deleted_at"] is not None
    with pytest.raises(DatabaseError) as info:
        policies.update("p001", {"status": "archived"})
    assert info.value.code == "DB_4001"


def test_duplicates_and_broken_references_are_coded_and_roll_back(
    db: sa.Engine, policies: Repository
) -> None:
    policies.create(_policy(1))
    with pytest.raises(DatabaseError) as info:
        policies.create(_policy(2, source_id="B-1"))  # same (source, source_id)
    assert info.value.code == "DB_4002" and info.value.details["constraint"] == "uq_policies_source_source_id"
    metrics = Repository(TABLES["quality_metrics"], db)
    scores = {"completeness": 1.0, "accuracy": 1.0, "consistency": 1.0, "timeliness": 1.0, "total": 1.0}
    with pytest.raises(DatabaseError) as info:
        metrics.create({"policy_id": "ghost", **scores})
    assert info.value.code == "DB_4005"
    assert policies.count() == 1 and metrics.count() == 0


def test_unknown_columns_and_bad_arguments_are_validation_errors(policies: Repository) -> None:
    with pytest.raises(ValidationError, match="no column 'colour'"):
        policies.create({**_policy(1), "colour": "red"})
    with pytest.raises(ValidationError, match="no column 'colour'"):
        policies.count({"colour": "red"})
    with pytest.raises(ValidationError, match="limit"):
        policies.page(limit=0)
    assert policies.count() == 0


def test_bulk_upsert_is_idempotent_and_updates_on_conflict(policies: Repository) -> None:
    rows = [_policy(n) for n in range(1, 1201)]
    assert policies.bulk_upsert(rows, conflict_columns=["source", "source_id"]) == 1200
    assert policies.bulk_upsert(rows, conflict_columns=["source", "source_id"]) == 1200
    assert policies.count() == 1200
    changed = [_policy(n, title="바뀜") for n in (5, 6)]
    policies.bulk_upsert(changed, conflict_columns=["source", "source_id"], update_columns=["title"])
    assert [r["title"] for r in policies.get_many(["p005", "p006", "p007"])] == ["바뀜", "바뀜", "공고 7"]
    # Insert-only: existing rows are left alone.
    policies.bulk_upsert([_policy(7, title="무시")], update_columns=[])
    assert policies.get("p007")["title"] == "공고 7"
    with pytest.raises(ValidationError, match="same columns"):
        policies.bulk_upsert([_policy(1), {"id": "x"}])


def test_composite_keys(db: sa.Engine) -> None:
    sync_state = Repository(TABLES["store_sync_state"], db)
    rows = [{"store": s, "policy_id": "p1", "content_hash": "h1"} for s in ("graph", "milvus", "search")]
    sync_state.bulk_upsert(rows)
    sync_state.bulk_upsert([{"store": "graph", "policy_id": "p1", "content_hash": "h2"}])
    assert sync_state.get(("graph", "p1"))["content_hash"] == "h2"
    assert len(sync_state.get_many([("graph", "p1"), ("milvus", "p1"), ("none", "p1")])) == 2
    with pytest.raises(ValidationError, match="key needs 2"):
        sync_state.get("graph")
    with pytest.raises(ValidationError, match="soft-delete"):
        sync_state.soft_delete(("graph", "p1"))


def test_filters_count_exists(policies: Repository) -> None:
    policies.bulk_upsert([_policy(n, status="active" if n % 2 else "rejected") for n in range(1, 11)])
    assert policies.count({"status": "active"}) == 5
    assert policies.count({"status": ["active", "rejected"]}) == 10
    assert policies.count({"quality_score": None}) == 10
    assert policies.exists({"id": "p003"}) and not policies.exists({"id": "p999"})
    policies.soft_delete("p003")
    assert not policies.exists({"id": "p003"}) and policies.exists({"id": "p003"}, include_deleted=True)


def test_keyset_pagination_walks_every_row_once(policies: Repository) -> None:
    policies.bulk_upsert([_policy(n, quality_score=float(n % 4)) for n in range(1, 24)])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = policies.page(order_by="quality_score", after=cursor, limit=5)
        pages += 1
        seen += [r["id"] for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        # A row added behind the cursor mid-walk is not repeated and shifts nothing.
        if pages == 2:
            policies.create(_policy(0, quality_score=0.0))
    assert pages == 5 and len(seen) == len(set(seen)) == 23
    ordered = sorted((float(n % 4), f"p{n:03d}") for n in range(1, 24))
    assert seen == [pid for _, pid in ordered]
    desc = policies.page(order_by="quality_score", limit=3, descending=True)
    assert [r["quality_score"] for r in desc.items] == [3.0, 3.0, 3.0]
    with pytest.raises(ValidationError, match="cursor"):
        policies.page(order_by="quality_score", after=(1.0,))


def test_calls_inside_a_transaction_nest_as_savepoints(db: sa.Engine) -> None:
    with transaction(db) as connection:
        repo = Repository(TABLES["policies"], connection)
        repo.create(_policy(1))
        with pytest.raises(DatabaseError):
            repo.create(_policy(1))  # fails in its savepoint only
        repo.create(_policy(2))
    assert Repository(TABLES["policies"], db).count() == 2
    with pytest.raises(RuntimeError), transaction(db) as connection:
        Repository(TABLES["policies"], connection).create(_policy(3))
        raise RuntimeError("outer failure")
    assert Repository(TABLES["policies"], db).count() == 2


async def test_async_repository_and_sessions(db: sa.Engine) -> None:
    engine = create_async_db_engine(db.url.render_as_string(hide_password=False))
    try:
        repo = AsyncRepository(TABLES["policies"], engine)
        await repo.create(_policy(1))
        assert await repo.bulk_upsert([_policy(2), _policy(3)]) == 2
        assert (await repo.get("p002"))["title"] == "공고 2"
        assert await repo.count() == 3 and await repo.exists({"id": "p003"})
        assert (await repo.update("p003", {"status": "active"}))["status"] == "active"
        assert await repo.soft_delete("p003")
        page = await repo.page(limit=2)
        assert [r["id"] for r in page.items] == ["p001", "p002"] and page.next_cursor is None
        with pytest.raises(DatabaseError) as info:
            await repo.create(_policy(1))
        assert info.value.code == "DB_4002"
        async with async_session_factory(engine)() as session:
            assert (await session.execute(sa.text("SELECT count(*) FROM policies"))).scalar_one() == 3
    finally:
        await engine.dispose()
