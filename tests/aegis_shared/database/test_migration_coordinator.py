"""The migration coordinator on a real PostgreSQL: order, additive changes, rollback, drops, lock."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from aegis_shared.database import (
    DataLossError,
    MigrationCoordinator,
    MigrationFailedError,
    MigrationLockedError,
    SchemaRegistry,
    apply_registry,
    migration_history,
)
from aegis_shared.database.migration_coordinator import MIGRATION_LOCK_KEY


def _columns(engine: sa.Engine) -> list[tuple]:
    """A full snapshot of the public schema from information_schema."""
    with engine.connect() as connection:
        columns = connection.execute(
            sa.text(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
            )
        ).all()
        constraints = connection.execute(
            sa.text(
                "SELECT table_name, constraint_name, constraint_type "
                "FROM information_schema.table_constraints WHERE table_schema = 'public' ORDER BY 1, 2"
            )
        ).all()
        indexes = connection.execute(
            sa.text(
                "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' ORDER BY 1, 2"
            )
        ).all()
    return [*map(tuple, columns), *map(tuple, constraints), *map(tuple, indexes)]


def _edit(directory: Path, table: str, change) -> None:
    path = directory / f"{table}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_seed_tables_are_created_in_dependency_order(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    registry = SchemaRegistry.load(seed_dir)
    result = MigrationCoordinator(fresh_engine, registry, actor="tester").migrate()
    assert result.applied
    created = [s.table for s in result.plan.steps if s.kind == "create_table"]
    assert created == registry.migration_order()
    assert created.index("users") < created.index("policies") < created.index("applications")
    assert _tables(fresh_engine) >= set(registry.names) | {"schema_migrations"}
    fks = {
        (fk["referred_table"], tuple(fk["constrained_columns"]))
        for fk in sa.inspect(fresh_engine).get_foreign_keys("applications")
    }
    assert fks == {("users", ("user_id",)), ("policies", ("policy_id",)), ("users", ("reviewed_by",))}
    [entry] = migration_history(fresh_engine)
    assert (entry.status, entry.actor, entry.failed_step) == ("applied", "tester", None)
    assert len(entry.steps) == len(result.plan.steps) and entry.duration_ms > 0
    assert "application-service" in entry.services


def test_apply_registry_twice_is_a_no_op(fresh_engine: sa.Engine) -> None:
    first = apply_registry(fresh_engine)
    snapshot = _columns(fresh_engine)
    second = apply_registry(fresh_engine)
    assert first.applied and not second.applied and second.plan.is_empty
    assert _columns(fresh_engine) == snapshot
    assert len(migration_history(fresh_engine)) == 1


def test_pipeline_upserts_work_on_the_created_tables(fresh_engine: sa.Engine) -> None:
    apply_registry(fresh_engine)
    insert = sa.text(
        "INSERT INTO policies (id, source, source_id, title, status, content_hash) "
        "VALUES ('p1', 'bizinfo', 'B-1', :title, 'pending_validation', 'h') "
        "ON CONFLICT (source, source_id) DO UPDATE SET title = EXCLUDED.title"
    )
    with fresh_engine.begin() as connection:
        connection.execute(insert, {"title": "첫 공고"})
        connection.execute(insert, {"title": "수정된 공고"})
        row = connection.execute(
            sa.text("SELECT title, source_ids, region_codes, version FROM policies")
        ).one()
    assert tuple(row) == ("수정된 공고", [], [], 1)


def test_additive_change_migrates(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()
    with fresh_engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO users (email, name) VALUES ('a@b.kr', '김')"))

    def add(data: dict) -> None:
        data["version"] = "1.1.0"
        data["version_history"].append(
            {"version": "1.1.0", "date": dt.date(2026, 12, 3), "changes": "last_login_at"}
        )
        data["columns"].append({"name": "last_login_at", "type": "TIMESTAMPTZ", "nullable": True})
        data["indexes"].append({"name": "idx_users_last_login", "columns": ["last_login_at"]})

    _edit(seed_dir, "users", add)
    coordinator = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir))
    plan = coordinator.plan()
    assert [(s.kind, s.table) for s in plan.steps] == [("add_column", "users"), ("create_index", "users")]
    assert not plan.loses_data
    assert plan.impact.owner_services == ["user-service"]
    assert "application-service" in plan.impact.dependent_services
    assert coordinator.migrate().applied
    columns = {c["name"] for c in sa.inspect(fresh_engine).get_columns("users")}
    assert "last_login_at" in columns
    assert "idx_users_last_login" in {i["name"] for i in sa.inspect(fresh_engine).get_indexes("users")}
    with fresh_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 1
    assert coordinator.plan().is_empty


def test_a_gin_index_is_created_with_its_access_method_and_plans_nothing_after(
    fresh_engine: sa.Engine, seed_dir: Path
) -> None:
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()

    def add(data: dict) -> None:
        data["version"] = "9.9.0"
        data["version_history"].append({"version": "9.9.0", "date": dt.date(2026, 12, 3), "changes": "gin"})
        data["indexes"].append(
            {
                "name": "idx_gin_source_ids",
                "columns": ["source_ids"],
                "using": "gin",
                "storage": {"fastupdate": False},
            }
        )

    _edit(seed_dir, "policies", add)
    coordinator = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir))
    assert [(s.kind, s.table) for s in coordinator.plan().steps] == [("create_index", "policies")]
    assert coordinator.migrate().applied
    with fresh_engine.connect() as connection:
        definition = connection.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_gin_source_ids'")
        ).scalar_one()
        # The `?` operator that finds merged records is one a GIN index on JSONB serves.
        connection.execute(sa.text("SET enable_seqscan = off"))
        plan = (
            connection.execute(
                sa.text("EXPLAIN SELECT id FROM policies WHERE source_ids ? :id"),
                {"id": "bizinfo:1"},
            )
            .scalars()
            .all()
        )
    assert "USING gin (source_ids) WITH (fastupdate=off)" in definition
    assert any("idx_gin_source_ids" in line for line in plan), plan
    assert coordinator.plan().is_empty  # the access method does not read as a difference


def test_policies_1_5_0_gets_its_source_ids_index_rebuilt_without_fast_update(
    fresh_engine: sa.Engine, seed_dir: Path
) -> None:
    def as_1_5_0(data: dict) -> None:
        data["version"] = "1.5.0"
        data["version_history"] = [e for e in data["version_history"] if e["version"] != "1.6.0"]
        [index] = [i for i in data["indexes"] if i["name"] == "idx_policies_merged_source_ids"]
        index["name"] = "idx_policies_source_ids"
        del index["storage"]

    _edit(seed_dir, "policies", as_1_5_0)
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()
    with fresh_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO policies (id, source, source_id, title, status, content_hash, source_ids) "
                """VALUES ('a:1', 'a', '1', 't', 'active', 'h', '["a:1", "b:2"]')"""
            )
        )

    coordinator = MigrationCoordinator(fresh_engine, SchemaRegistry.load())
    assert sorted((s.kind, s.table) for s in coordinator.plan().steps) == [
        ("create_index", "policies"),
        ("drop_index", "policies"),
    ]
    assert coordinator.migrate().applied
    with fresh_engine.connect() as connection:
        definitions = dict(
            connection.execute(
                sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE indexdef LIKE '%USING gin%'")
            ).all()
        )
        connection.execute(sa.text("SET enable_seqscan = off"))
        found = connection.execute(sa.text("SELECT id FROM policies WHERE source_ids ? 'b:2'")).all()
    assert list(definitions) == ["idx_policies_merged_source_ids"]
    assert definitions["idx_policies_merged_source_ids"].endswith("WITH (fastupdate=off)")
    assert found == [("a:1",)]  # the row survived the rebuild and the new index finds it
    assert coordinator.plan().is_empty


def test_failing_third_step_leaves_schema_identical(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()
    with fresh_engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO users (email, name) VALUES ('a@b.kr', '김'), ('c@d.kr', '김')")
        )
    before = _columns(fresh_engine)

    # Steps run in this order: users.add_column, users.create_index, users.create_index (unique on
    # a column with duplicate values: PostgreSQL refuses it), notifications.add_column.
    def users_change(data: dict) -> None:
        data["columns"].append({"name": "nickname", "type": "TEXT", "nullable": True})
        data["indexes"].append({"name": "idx_users_nickname", "columns": ["nickname"]})
        data["indexes"].append({"name": "uq_users_name", "columns": ["name"], "unique": True})

    _edit(seed_dir, "users", users_change)
    _edit(seed_dir, "notifications", lambda d: d["columns"].append({"name": "channel", "type": "TEXT"}))
    coordinator = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir), actor="tester")
    plan = coordinator.plan()
    assert [(s.number, s.kind, s.table) for s in plan.steps] == [
        (1, "add_column", "users"),
        (2, "create_index", "users"),
        (3, "create_index", "users"),
        (4, "add_column", "notifications"),
    ]
    with pytest.raises(MigrationFailedError) as info:
        coordinator.migrate()
    assert info.value.code == "DB_4007" and info.value.step == 3
    assert "uq_users_name" in info.value.details["sql"]
    assert _columns(fresh_engine) == before
    latest = migration_history(fresh_engine)[0]
    assert (latest.status, latest.failed_step, latest.actor) == ("failed", 3, "tester")
    assert "could not create unique index" in (latest.error or "")


def test_drop_is_refused_without_flag_and_applied_with_it(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()
    with fresh_engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO users (email, name, phone) VALUES ('a@b.kr', '김', '010')"))
    _edit(seed_dir, "users", lambda d: d.update(columns=[c for c in d["columns"] if c["name"] != "phone"]))
    (seed_dir / "notifications.yaml").unlink()
    before = _columns(fresh_engine)
    coordinator = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir))
    plan = coordinator.plan()
    assert sorted(plan.impact.data_loss_risks) == [
        "drop column users.phone (1 rows)",
        "drop table notifications (0 rows)",
    ]
    with pytest.raises(DataLossError) as info:
        coordinator.migrate()
    assert info.value.code == "DB_4008" and len(info.value.risks) == 2
    assert _columns(fresh_engine) == before
    assert migration_history(fresh_engine)[0].status == "refused"

    result = coordinator.migrate(allow_data_loss=True)
    assert result.applied
    assert "notifications" not in _tables(fresh_engine)
    assert "phone" not in {c["name"] for c in sa.inspect(fresh_engine).get_columns("users")}
    assert coordinator.plan().is_empty


def test_narrowing_type_change_is_data_loss(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()

    def narrow(data: dict) -> None:
        for column in data["columns"]:
            if column["name"] == "name":
                column["type"] = "VARCHAR(10)"
            if column["name"] == "phone":
                column["type"] = "VARCHAR(40)"  # widening: not a risk

    _edit(seed_dir, "users", narrow)
    plan = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).plan()
    assert plan.impact.data_loss_risks == [
        "narrowing type change users.name: CHARACTER VARYING(100) -> CHARACTER VARYING(10)"
    ]
    assert {s.kind for s in plan.steps} == {"alter_column"}


def test_dry_run_prints_sql_and_changes_nothing(fresh_engine: sa.Engine) -> None:
    result = MigrationCoordinator(fresh_engine, SchemaRegistry.load()).migrate(dry_run=True)
    assert result.dry_run and not result.applied
    assert (
        "CREATE TABLE users" in result.plan.sql
        and "CREATE UNIQUE INDEX uq_policies_source_source_id" in result.plan.sql
    )
    assert _tables(fresh_engine) == {"schema_migrations"}


def test_plan_between_two_registry_versions_touches_no_real_table(
    fresh_engine: sa.Engine, seed_dir: Path
) -> None:
    old = SchemaRegistry.load(seed_dir)
    _edit(seed_dir, "policies", lambda d: d["columns"].append({"name": "priority", "type": "INTEGER"}))
    new = SchemaRegistry.load(seed_dir)
    plan = MigrationCoordinator(fresh_engine, new).plan_from(old)
    assert [(s.kind, s.table) for s in plan.steps] == [("add_column", "policies")]
    assert plan.impact.dependent_services == ["application-service", "data-pipeline"]
    assert _tables(fresh_engine) == set()
    with fresh_engine.connect() as connection:
        schemas = connection.execute(
            sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'aegis_scratch%'")
        )
        assert schemas.all() == []


def test_a_second_coordinator_does_not_run_while_the_first_holds_the_lock(fresh_engine: sa.Engine) -> None:
    registry = SchemaRegistry.load()
    with fresh_engine.connect() as holder, holder.begin():
        # Another coordinator's transaction holds the lock.
        holder.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        with pytest.raises(MigrationLockedError) as info:
            MigrationCoordinator(fresh_engine, registry).migrate()
        assert info.value.code == "DB_4009"
        with pytest.raises(MigrationLockedError, match=r"more than 0\.3s"):
            MigrationCoordinator(fresh_engine, registry, lock_timeout=0.3).migrate()
    assert _tables(fresh_engine) == {"schema_migrations"}


def test_concurrent_coordinators_run_exactly_once(fresh_engine: sa.Engine) -> None:
    registry = SchemaRegistry.load()
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def run(wait: float) -> None:
        barrier.wait()
        try:
            outcomes.append(MigrationCoordinator(fresh_engine, registry, lock_timeout=wait).migrate().applied)
        except MigrationLockedError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=run, args=(30.0,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Waiting coordinators find the work done: exactly one applied, nobody failed.
    assert sorted(map(str, outcomes)) == ["False", "False", "False", "True"]
    assert [e.status for e in migration_history(fresh_engine)] == ["applied"]


def test_history_filters_by_service(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()
    _edit(seed_dir, "pipeline_runs", lambda d: d["columns"].append({"name": "note", "type": "TEXT"}))
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()
    assert len(migration_history(fresh_engine)) == 2
    assert migration_history(fresh_engine, service="data-pipeline")[0].tables == ["pipeline_runs"]
    assert len(migration_history(fresh_engine, service="user-service")) == 1
    assert migration_history(fresh_engine, service="nobody") == []


def test_invalid_registry_changes_nothing(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    _edit(
        seed_dir,
        "applications",
        lambda d: d["references"].append({"schema": "ghosts", "column": "id", "foreign_key": "user_id"}),
    )
    from aegis_shared.database import SchemaReferenceError

    with pytest.raises(SchemaReferenceError, match="ghosts"):
        apply_registry(fresh_engine, seed_dir)
    assert _tables(fresh_engine) == set()
