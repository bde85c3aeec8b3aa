"""No DDL from resources: the explicit migration step, the version check, and columns other teams add."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from aegis_orchestration.definitions import defs
from aegis_orchestration.resources import PostgresResource
from aegis_shared.config import Settings
from aegis_shared.database.cli import schema
from aegis_shared.errors import AegisError
from tests.aegis_orchestration.hot_path.helpers import (
    Database,
    announcement,
    policy_rows,
    publish_collected,
    range_config,
    run_job,
)


@pytest.fixture
def empty_url(pg_engine: sa.Engine) -> Iterator[str]:
    """A brand-new database nobody migrated."""
    name = f"empty_{uuid.uuid4().hex[:10]}"
    admin = pg_engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield pg_engine.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_resource_refuses_an_unmigrated_database_until_the_migrate_job_ran(empty_url: str) -> None:
    resource = PostgresResource(url=empty_url)
    with pytest.raises(AegisError) as info:
        resource.engine()
    assert info.value.code == "DB_4020"
    assert "aegis schema migrate" in info.value.message and "schema_migrate_job" in info.value.message
    assert _tables(empty_url) == set()  # the resource created nothing

    result = defs.resolve_job_def("schema_migrate_job").execute_in_process(resources={"postgres": resource})
    assert result.success
    engine = resource.engine()
    assert {"policies", "event_outbox", "raw_announcements", "schema_migrations"} <= _tables(empty_url)
    with engine.connect() as connection:
        actor = connection.execute(sa.text("SELECT actor FROM schema_migrations ORDER BY id DESC")).first()
    assert actor == ("schema_migrate_job",)


def test_an_asset_on_an_unmigrated_database_fails_with_the_coded_error(
    hp_settings: Settings, empty_url: str
) -> None:
    publish_collected(hp_settings, [announcement(1)], partition=0)
    unmigrated = Database(empty_url, sa.create_engine(empty_url, poolclass=sa.pool.NullPool))
    result = run_job(
        hp_settings, unmigrated, range_config(hp_settings.topic("collection"), 0, 0, 1), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "DB_4020" in str(failure.step_failure_data.error)
    assert _tables(empty_url) == set()


def test_a_column_another_team_added_keeps_the_pipeline_working(hp_settings: Settings, db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE policies ADD COLUMN crm_note TEXT"))
        connection.execute(sa.text("CREATE INDEX idx_policies_crm_note ON policies (crm_note)"))
    PostgresResource(url=db.url).engine()  # the version check passes

    items = [announcement(i) for i in range(5)]
    publish_collected(hp_settings, items, partition=0)
    with dg.instance_for_test() as instance:
        config = range_config(hp_settings.topic("collection"), 0, 0, len(items))
        assert run_job(hp_settings, db, config, instance=instance).success
    assert set(policy_rows(db.engine)) == {a.policy_id for a in items}
    with db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE policies SET crm_note = 'called'"))

    migrate = CliRunner().invoke(schema, ["migrate", "--database-url", db.url])
    assert migrate.exit_code == 0, migrate.output
    assert "Database is up to date." in migrate.output
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("policies")}
    assert "crm_note" in columns
    with db.engine.connect() as connection:
        notes = connection.execute(sa.text("SELECT DISTINCT crm_note FROM policies")).scalars().all()
    assert notes == ["called"]
