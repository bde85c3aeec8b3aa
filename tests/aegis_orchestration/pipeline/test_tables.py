"""The pipeline's tables come from the YAML registry: they match a migrated database, and a
statement naming a column the registry lacks fails before anything is written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aegis_orchestration.pipeline import tables
from aegis_orchestration.pipeline.upserts import insert_rows
from tests.aegis_orchestration.hot_path.helpers import Database


def test_every_pipeline_table_has_the_columns_of_the_migrated_database(db: Database) -> None:
    inspector = sa.inspect(db.engine)
    for table in (
        tables.policies,
        tables.quality_metrics,
        tables.processing_history,
        tables.audit_logs,
        tables.event_outbox,
        tables.event_outbox_published,
        tables.policy_status_history,
    ):
        live = {column["name"] for column in inspector.get_columns(table.name)}
        assert set(table.c.keys()) == live, table.name


def test_the_columns_both_paths_write_are_policies_columns() -> None:
    assert set(tables.POLICY_COLUMNS) <= set(tables.policies.c.keys())
    # Announcement fields that the row keeps under their own name, and nothing else.
    assert "title" in tables.ANNOUNCEMENT_COLUMNS and "closed_by_source" in tables.ANNOUNCEMENT_COLUMNS
    assert "raw" not in tables.ANNOUNCEMENT_COLUMNS and "source" not in tables.ANNOUNCEMENT_COLUMNS


def test_a_column_name_the_registry_lacks_is_refused_by_name() -> None:
    assert tables.cols(tables.policies, ("id", "status")) == "id, status"
    with pytest.raises(KeyError, match="policies has no column 'stauts'"):
        tables.cols(tables.policies, ("id", "stauts"))


def test_a_row_with_an_unknown_column_writes_nothing(db: Database) -> None:
    good = {"entity_type": "policy", "entity_id": "p:1", "action": "status_changed", "actor": "test"}
    with pytest.raises(KeyError, match="audit_logs has no column 'actr'"), db.engine.begin() as conn:
        insert_rows(conn, tables.audit_logs, [{**good, "actr": "typo"}])
    with db.engine.begin() as conn:
        insert_rows(conn, tables.audit_logs, [good])
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.audit_logs)).scalar_one() == 1
