"""Schema version checks, columns other teams add, and rolling back additive migrations (real PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from aegis_shared.database import (
    DataLossError,
    MigrationCoordinator,
    NothingToRollBackError,
    RollbackRefusedError,
    SchemaNotMigratedError,
    SchemaRegistry,
    migration_history,
)
from aegis_shared.database.cli import schema
from tests.aegis_shared.database.test_migration_coordinator import _columns, _edit, _tables


def _add_last_login(seed_dir: Path) -> None:
    def add(data: dict) -> None:
        data["version"] = "1.1.0"
        data["version_history"].append(
            {"version": "1.1.0", "date": dt.date(2026, 12, 3), "changes": "last_login_at"}
        )
        data["columns"].append({"name": "last_login_at", "type": "TIMESTAMPTZ", "nullable": True})
        data["indexes"].append({"name": "idx_users_last_login", "columns": ["last_login_at"]})

    _edit(seed_dir, "users", add)


def _user_columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("users")}


def test_check_names_the_command_until_the_database_is_migrated(
    fresh_engine: sa.Engine, seed_dir: Path
) -> None:
    coordinator = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir))
    with pytest.raises(SchemaNotMigratedError) as info:
        coordinator.check()
    assert info.value.code == "DB_4020" and "aegis schema migrate" in info.value.message
    assert _tables(fresh_engine) == set()  # checking created nothing

    coordinator.migrate()
    coordinator.check()

    _add_last_login(seed_dir)
    newer = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir))
    with pytest.raises(SchemaNotMigratedError, match="aegis schema migrate"):
        newer.check()
    assert "last_login_at" not in _user_columns(fresh_engine)
    newer.migrate()
    newer.check()


def test_a_database_created_before_versions_were_recorded_is_stamped_by_migrate(
    fresh_engine: sa.Engine, seed_dir: Path
) -> None:
    registry = SchemaRegistry.load(seed_dir)
    coordinator = MigrationCoordinator(fresh_engine, registry)
    coordinator.migrate()
    with fresh_engine.begin() as connection:  # what an older release left behind
        connection.execute(sa.text("UPDATE schema_migrations SET registry_version = NULL"))
    with pytest.raises(SchemaNotMigratedError):
        coordinator.check()
    before = _columns(fresh_engine)
    result = coordinator.migrate()
    assert not result.applied and result.plan.is_empty
    coordinator.check()
    assert _columns(fresh_engine) == before


def test_columns_another_team_added_are_left_alone(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    coordinator = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir))
    coordinator.migrate()
    with fresh_engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE users ADD COLUMN crm_segment TEXT"))
        connection.execute(sa.text("CREATE INDEX idx_users_crm_segment ON users (crm_segment)"))
        connection.execute(
            sa.text("INSERT INTO users (email, name, crm_segment) VALUES ('a@b.kr', '김', 'gold')")
        )
    plan = coordinator.plan()
    assert plan.is_empty and not plan.loses_data
    coordinator.check()

    # A real registry change migrates around the foreign column and keeps it, with its data.
    _add_last_login(seed_dir)
    newer = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir))
    assert [(s.kind, s.table) for s in newer.plan().steps] == [
        ("add_column", "users"),
        ("create_index", "users"),
    ]
    assert newer.migrate().applied
    assert {"crm_segment", "last_login_at"} <= _user_columns(fresh_engine)
    assert "idx_users_crm_segment" in {i["name"] for i in sa.inspect(fresh_engine).get_indexes("users")}
    with fresh_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT crm_segment FROM users")).scalar_one() == "gold"


def test_a_column_the_registry_stopped_listing_is_still_a_drop(
    fresh_engine: sa.Engine, seed_dir: Path
) -> None:
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()
    _edit(seed_dir, "users", lambda d: d.update(columns=[c for c in d["columns"] if c["name"] != "phone"]))
    plan = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).plan()
    assert [(s.kind, s.table) for s in plan.steps] == [("drop_column", "users")]
    assert plan.loses_data


def test_rollback_undoes_an_additive_migration_and_records_it(
    fresh_engine: sa.Engine, seed_dir: Path
) -> None:
    old = SchemaRegistry.load(seed_dir)
    MigrationCoordinator(fresh_engine, old).migrate()
    before = _columns(fresh_engine)
    _add_last_login(seed_dir)
    new = SchemaRegistry.load(seed_dir)
    coordinator = MigrationCoordinator(fresh_engine, new, actor="tester")
    coordinator.migrate()
    applied = migration_history(fresh_engine)[0]

    preview = coordinator.rollback(dry_run=True)
    assert not preview.applied and "DROP INDEX idx_users_last_login" in preview.sql
    assert "last_login_at" in _user_columns(fresh_engine)

    result = coordinator.rollback()
    assert result.applied and result.reverted_id == applied.id
    assert _columns(fresh_engine) == before
    latest = migration_history(fresh_engine)[0]
    assert (latest.status, latest.reverts, latest.actor) == ("rolled_back", applied.id, "tester")
    assert [s["kind"] for s in latest.steps] == ["undo_create_index", "undo_add_column"]
    # The database is back at the old version: the old registry passes, the new one must migrate.
    MigrationCoordinator(fresh_engine, old).check()
    with pytest.raises(SchemaNotMigratedError):
        coordinator.check()
    assert coordinator.migrate().applied
    coordinator.check()


def test_rollback_refuses_what_is_not_additive_and_changes_nothing(
    fresh_engine: sa.Engine, seed_dir: Path
) -> None:
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()

    def widen(data: dict) -> None:
        for column in data["columns"]:
            if column["name"] == "phone":
                column["type"] = "VARCHAR(40)"

    _edit(seed_dir, "users", widen)
    coordinator = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir))
    coordinator.migrate()
    before = _columns(fresh_engine)
    with pytest.raises(RollbackRefusedError) as info:
        coordinator.rollback()
    assert info.value.code == "DB_4021" and "alter_column users" in info.value.message
    assert _columns(fresh_engine) == before
    assert migration_history(fresh_engine)[0].status == "applied"


def test_rollback_that_would_drop_data_needs_the_flag(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir)).migrate()
    _add_last_login(seed_dir)
    coordinator = MigrationCoordinator(fresh_engine, SchemaRegistry.load(seed_dir))
    coordinator.migrate()
    with fresh_engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO users (email, name, last_login_at) VALUES ('a@b.kr', '김', now())")
        )
    before = _columns(fresh_engine)
    with pytest.raises(DataLossError) as info:
        coordinator.rollback()
    assert info.value.risks == ["drop column users.last_login_at (1 rows with a value)"]
    assert _columns(fresh_engine) == before
    assert coordinator.rollback(allow_data_loss=True).applied
    assert "last_login_at" not in _user_columns(fresh_engine)
    with fresh_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 1


def test_nothing_to_roll_back(fresh_engine: sa.Engine) -> None:
    with pytest.raises(NothingToRollBackError) as info:
        MigrationCoordinator(fresh_engine, SchemaRegistry.load()).rollback()
    assert info.value.code == "DB_4022"


def test_rollback_and_status_commands(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    args = ["--dir", str(seed_dir), "--database-url", url]
    status = runner.invoke(schema, ["status", *args])
    assert status.exit_code == 1 and "[DB_4020]" in status.output and "aegis schema migrate" in status.output
    assert runner.invoke(schema, ["migrate", *args]).exit_code == 0
    assert runner.invoke(schema, ["status", *args]).exit_code == 0
    _add_last_login(seed_dir)
    assert runner.invoke(schema, ["migrate", *args]).exit_code == 0
    dry = runner.invoke(schema, ["rollback", "--dry-run", *args])
    assert dry.exit_code == 0 and "ALTER TABLE users DROP COLUMN last_login_at" in dry.output
    done = runner.invoke(schema, ["rollback", *args])
    assert done.exit_code == 0 and "Rolled back migration" in done.output
    assert "last_login_at" not in _user_columns(fresh_engine)
    again = runner.invoke(schema, ["rollback", *args])  # the first migration created every table
    assert again.exit_code == 0
    assert _tables(fresh_engine) == {"schema_migrations"}
    last = runner.invoke(schema, ["rollback", *args])
    assert last.exit_code == 1 and "[DB_4022]" in last.output
