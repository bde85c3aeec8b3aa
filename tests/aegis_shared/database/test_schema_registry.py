"""The YAML schema registry: loading, precise errors, graph questions and migration order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aegis_shared.database import (
    ColumnSchema,
    ReferenceSchema,
    SchemaDefinitionError,
    SchemaReferenceError,
    SchemaRegistry,
    TableSchema,
)
from tests.aegis_shared.database.conftest import WriteTable
from tests.aegis_shared.database.schema_builders import ref, table

PIPELINE_TABLES = {
    "raw_announcements",
    "policies",
    "quality_metrics",
    "processing_history",
    "audit_logs",
    "store_sync_state",
    "pipeline_runs",
    "event_outbox",
    "collection_rejections",
    "event_outbox_published",
    "dlq_replays",
    "event_store",
    "event_subscriptions",
    "policy_status_history",
}
SEED_TABLES = {"users", "policies", "applications", "audit_logs", "notifications"}


# ---------------------------------------------------------------------- the real registry
def test_real_registry_loads_every_table_with_owner_and_history() -> None:
    registry = SchemaRegistry.load()
    assert set(registry.names) == PIPELINE_TABLES | SEED_TABLES
    for table_schema in registry:
        assert table_schema.owner and table_schema.version_history
        assert table_schema.version_history[-1].version == table_schema.version


def test_real_registry_orders_dependencies_first() -> None:
    registry = SchemaRegistry.load()
    order = registry.migration_order()
    for table_schema in registry:
        for reference in table_schema.references:
            assert order.index(reference.table) < order.index(table_schema.name), table_schema.name
    assert order == registry.migration_order()  # deterministic


def test_pipeline_columns_have_the_contracted_types() -> None:
    policies = SchemaRegistry.load().get("policies")
    expected = {
        "id": "TEXT",
        "source_ids": "JSONB",
        "region_codes": "TEXT[]",
        "quality_score": "DOUBLE PRECISION",
        "period_open_ended": "BOOLEAN",
        "version": "INTEGER",
        "deleted_at": "TIMESTAMP WITH TIME ZONE",
    }
    assert {name: str(policies.column(name).column_type) for name in expected} == expected
    assert policies.is_unique_key(["source", "source_id"])
    assert policies.column("created_by").is_nullable  # the pipeline has no user


def test_dependents_and_dependent_services() -> None:
    registry = SchemaRegistry.load()
    assert registry.dependencies("applications") == ["policies", "users"]
    assert registry.dependents("policies") == ["applications", "processing_history", "quality_metrics"]
    assert registry.dependent_services("policies") == ["application-service", "data-pipeline"]
    # users → policies → quality_metrics: transitive dependents count too.
    assert "quality_metrics" in registry.dependents("users")
    with pytest.raises(KeyError, match="nope"):
        registry.dependents("nope")


# ---------------------------------------------------------------------- cycles
def test_every_overlapping_cycle_is_reported(tmp_path: Path, write_table: WriteTable) -> None:
    # a→b→c→a, a→b→a and c→d→c share edges; plus a self-reference on e.
    d = tmp_path / "cyc"
    write_table(d, "a", table("a", {"name": "b_id", "type": "TEXT"}, references=[ref("b", "b_id")]))
    write_table(
        d,
        "b",
        table(
            "b",
            {"name": "c_id", "type": "TEXT"},
            {"name": "a_id", "type": "TEXT"},
            references=[ref("c", "c_id"), ref("a", "a_id")],
        ),
    )
    write_table(
        d,
        "c",
        table(
            "c",
            {"name": "a_id", "type": "TEXT"},
            {"name": "d_id", "type": "TEXT"},
            references=[ref("a", "a_id"), ref("d", "d_id")],
        ),
    )
    write_table(d, "d", table("d", {"name": "c_id", "type": "TEXT"}, references=[ref("c", "c_id")]))
    write_table(d, "e", table("e", {"name": "parent", "type": "TEXT"}, references=[ref("e", "parent")]))
    registry = SchemaRegistry.load(d)
    assert registry.cycles() == [["e"], ["a", "b"], ["c", "d"], ["a", "b", "c"]]
    with pytest.raises(SchemaReferenceError) as info:
        registry.migration_order()
    assert info.value.code == "DB_4010"
    messages = [p.message for p in info.value.problems]
    assert messages == [
        "reference cycle: a -> b -> a",
        "reference cycle: c -> d -> c",
        "reference cycle: a -> b -> c -> a",
    ]


def test_self_reference_alone_does_not_block_ordering(tmp_path: Path, write_table: WriteTable) -> None:
    d = tmp_path / "tree"
    write_table(
        d, "node", table("node", {"name": "parent", "type": "TEXT"}, references=[ref("node", "parent")])
    )
    assert SchemaRegistry.load(d).migration_order() == ["node"]


# ---------------------------------------------------------------------- reference integrity
def test_bad_references_are_each_reported_with_file_and_names(
    tmp_path: Path, write_table: WriteTable
) -> None:
    d = tmp_path / "refs"
    write_table(d, "parent", table("parent", {"name": "code", "type": "TEXT"}))
    bad = write_table(
        d,
        "child",
        table(
            "child",
            {"name": "ghost_id", "type": "TEXT"},
            {"name": "parent_col", "type": "TEXT"},
            {"name": "parent_int", "type": "INTEGER"},
            {"name": "parent_code", "type": "TEXT"},
            references=[
                ref("ghost", "ghost_id"),
                ref("parent", "parent_col", column="missing"),
                ref("parent", "parent_int"),
                ref("parent", "parent_code", column="code"),
            ],
        ),
    )
    with pytest.raises(SchemaReferenceError) as info:
        SchemaRegistry.load(d)
    problems = info.value.problems
    assert all(p.file == str(bad) for p in problems)
    # Each problem points at its own "- schema:" item in the file.
    lines = [p.line for p in problems]
    assert all(lines) and lines == sorted(set(lines))
    assert [p.message for p in problems] == [
        "child.ghost_id -> ghost.id: table 'ghost' does not exist",
        "child.parent_col -> parent.missing: column 'missing' does not exist in 'parent'",
        "child.parent_int -> parent.id: type INTEGER does not match TEXT",
        "child.parent_code -> parent.code: target column is not a primary key or unique",
    ]
    assert info.value.code == "DB_4010" and len(info.value.details["problems"]) == 4


# ---------------------------------------------------------------------- bad YAML
def test_each_definition_problem_is_reported_once_with_line(tmp_path: Path, write_table: WriteTable) -> None:
    d = tmp_path / "bad"
    write_table(
        d,
        "broken",
        """\
name: broken
owner: svc
columns:
  - name: id
    type: TEXT
    primary_key: true
  - name: size
    type: INTEGER
    nullable: "no"
  - name: size
    type: TEXT
  - name: color
    type: COLOUR
    colour: red
indexes:
  - name: ix_missing
    columns: [nope]
""",
    )
    with pytest.raises(SchemaDefinitionError) as info:
        SchemaRegistry.load(d)
    err = info.value
    assert err.code == "VALID_3012"
    found = {(p.line, p.location, p.message) for p in err.problems}
    assert found == {
        (1, "version", "missing required key 'version'"),
        (9, "columns.1.nullable", "Input should be a valid boolean"),
        (13, "columns.3.type", "Value error, unknown PostgreSQL column type 'COLOUR'"),
        (14, "columns.3.colour", "unknown key 'colour'"),
    }
    # Consistency problems need a well-typed file, so fix the type errors and look again.
    write_table(
        d,
        "broken",
        """\
name: broken
owner: svc
version: 1.0.0
columns:
  - name: id
    type: TEXT
    primary_key: true
  - name: size
    type: INTEGER
  - name: size
    type: TEXT
indexes:
  - name: ix_missing
    columns: [nope]
references:
  - schema: broken
    column: id
    foreign_key: owner_id
""",
    )
    with pytest.raises(SchemaDefinitionError) as info:
        SchemaRegistry.load(d)
    assert [(p.line, p.message) for p in info.value.problems] == [
        (10, "duplicate column name 'size'"),
        (18, "reference foreign_key 'owner_id' is not a column of 'broken'"),
        (14, "index 'ix_missing' names unknown column 'nope'"),
    ]


def test_duplicate_yaml_keys_and_syntax_errors_are_located(tmp_path: Path, write_table: WriteTable) -> None:
    d = tmp_path / "dup"
    write_table(
        d,
        "a",
        "name: a\nname: b\nowner: s\nversion: 1.0.0\n"
        "columns:\n  - {name: id, type: TEXT, primary_key: true}\n",
    )
    write_table(d, "b", "name: b\ncolumns: [unclosed\n")
    with pytest.raises(SchemaDefinitionError) as info:
        SchemaRegistry.load(d)
    problems = sorted(info.value.problems, key=lambda p: p.file)
    assert (Path(problems[0].file).name, problems[0].line, problems[0].message) == (
        "a.yaml",
        2,
        "duplicate key 'name'",
    )
    assert Path(problems[1].file).name == "b.yaml" and problems[1].message.startswith("invalid YAML")
    assert problems[1].line is not None


def test_table_defined_twice_and_missing_directory(tmp_path: Path, write_table: WriteTable) -> None:
    d = tmp_path / "twice"
    write_table(d, "one", table("same"))
    write_table(d, "two", table("same"))
    with pytest.raises(SchemaDefinitionError, match="also defined in"):
        SchemaRegistry.load(d)
    with pytest.raises(SchemaDefinitionError, match="registry directory not found"):
        SchemaRegistry.load(tmp_path / "absent")


# ---------------------------------------------------------------------- register and save
def _audit_table() -> TableSchema:
    return TableSchema(
        name="login_events",
        owner="auth-service",
        version="1.0.0",
        columns=[
            ColumnSchema(name="id", type="BIGSERIAL", primary_key=True),
            ColumnSchema(name="user_id", type="UUID", nullable=True),
        ],
        references=[ReferenceSchema(table="users", column="id", foreign_key="user_id", on_delete="SET NULL")],
        version_history=[{"version": "1.0.0", "date": dt.date(2026, 11, 3), "changes": "new"}],
    )


def test_register_save_and_reload_round_trip(tmp_path: Path) -> None:
    registry = SchemaRegistry.load()
    registry.register(_audit_table())
    assert "login_events" in registry
    assert registry.dependent_services("users")[0] == "application-service"
    assert "auth-service" in registry.dependent_services("users")
    registry.save(tmp_path / "saved")
    reloaded = SchemaRegistry.load(tmp_path / "saved")
    assert reloaded.names == registry.names
    assert reloaded.get("login_events") == registry.get("login_events")
    assert reloaded.get("policies") == registry.get("policies")


def test_register_refuses_invalid_tables_and_changes_nothing() -> None:
    registry = SchemaRegistry.load()
    before = list(registry)
    with pytest.raises(SchemaDefinitionError, match="already registered"):
        registry.register(registry.get("users"))
    broken = _audit_table().model_copy(
        update={"references": [ReferenceSchema(table="nowhere", column="id", foreign_key="user_id")]}
    )
    with pytest.raises(SchemaReferenceError, match="'nowhere' does not exist"):
        registry.register(broken)
    assert list(registry) == before


def test_models_are_strict() -> None:
    with pytest.raises(ValueError, match="primary key column 'id' cannot be nullable"):
        ColumnSchema(name="id", type="TEXT", primary_key=True, nullable=True)
    with pytest.raises(ValueError, match="serial column 'n' must be the primary key"):
        ColumnSchema(name="n", type="BIGSERIAL")
    with pytest.raises(ValueError, match="String should match pattern"):
        ColumnSchema(name="Bad-Name", type="TEXT")
