"""The schema registry over both stores: versions, transitive modes, deprecation, errors, CLI."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from aegis_shared.errors import AegisError, ValidationError
from aegis_shared.events.cli import events
from aegis_shared.events.compatibility import CompatibilityMode
from aegis_shared.events.registry import DEFAULT_SCHEMAS_DIR, SchemaRegistry, validate_schema
from aegis_shared.events.registry_store import FileRegistryStore, PostgresRegistryStore, event_schemas


def _policy(**properties: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"policyId": {"type": "string"}}
    props.update(properties)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": props,
        "required": ["policyId"],
        "additionalProperties": False,
    }


V1 = _policy()
V2 = _policy(title={"type": "string"})

# A chain whose every step is compatible both ways, yet whose ends are not: a property with a
# default becomes required (fine, old data gets the default), then loses its default (fine
# against the previous step, which already required it) — but a reader of the last version
# cannot read data written under the first, which lacks the property.
CHAIN_A = {**_policy(region={"type": "string", "default": "seoul"})}
CHAIN_B = {**_policy(region={"type": "string", "default": "seoul"}), "required": ["policyId", "region"]}
CHAIN_C = {**_policy(region={"type": "string"}), "required": ["policyId", "region"]}


@pytest.fixture
def file_root(tmp_path: Path) -> Path:
    return tmp_path / "schemas" / "events"


@pytest.fixture
def file_registry(file_root: Path) -> SchemaRegistry:
    return SchemaRegistry(FileRegistryStore(file_root))


@pytest.fixture
def postgres_registry(pg_engine: sa.Engine) -> SchemaRegistry:
    return SchemaRegistry(PostgresRegistryStore(pg_engine))


@pytest.fixture(params=["file", pytest.param("postgres", marks=pytest.mark.stack)])
def registry(request: pytest.FixtureRequest) -> SchemaRegistry:
    return request.getfixturevalue(f"{request.param}_registry")


@pytest.fixture
def subject() -> str:
    # The Postgres database is shared by the whole session: each test gets its own subject.
    return "PolicyCreated" + uuid.uuid4().hex[:10].upper()


# ---- versions ------------------------------------------------------------------------------


def test_register_numbers_versions_and_reads_them_back(registry: SchemaRegistry, subject: str) -> None:
    assert registry.register(subject, V1) == 1
    assert registry.register(subject, V2) == 2
    assert registry.versions(subject) == [1, 2]
    assert dict(registry.get(subject).schema) == V2
    assert registry.get(subject, "latest").version == 2
    assert dict(registry.get(subject, 1).schema) == V1
    assert subject in registry.subjects()
    assert registry.mode(subject) is CompatibilityMode.BACKWARD
    assert registry.get(subject, 1).created_at is not None


def test_identical_schema_is_idempotent(registry: SchemaRegistry, subject: str) -> None:
    assert registry.register(subject, V1) == 1
    reordered = json.loads(json.dumps(V1, sort_keys=True))
    assert registry.register(subject, reordered) == 1
    outcome = registry.register_schema(subject, V1)
    assert not outcome.created
    assert outcome.version.version == 1
    assert registry.versions(subject) == [1]


def test_re_registering_an_older_version_returns_it(registry: SchemaRegistry, subject: str) -> None:
    registry.register(subject, V1)
    registry.register(subject, V2)
    assert registry.register(subject, V1) == 1
    assert registry.versions(subject) == [1, 2]


def test_check_reports_without_writing(registry: SchemaRegistry, subject: str) -> None:
    registry.register(subject, V1)
    result = registry.check(subject, _policy(policyId={"type": "integer"}))
    assert not result.is_compatible
    assert [(c.kind, c.pointer) for c in result.breaking_changes] == [
        ("TYPE_CHANGED", "#/properties/policyId")
    ]
    assert result.changes[0].message.startswith("against v1:")
    assert registry.check(subject, V2).is_compatible
    assert registry.versions(subject) == [1]


def test_check_on_a_new_subject_is_compatible(registry: SchemaRegistry, subject: str) -> None:
    assert registry.check(subject, V1).is_compatible


# ---- refusal -------------------------------------------------------------------------------


def test_incompatible_version_is_refused_with_every_breaking_change(
    registry: SchemaRegistry, subject: str
) -> None:
    registry.register(subject, V1)
    breaking = {**_policy(policyId={"type": "integer"}, extra={"type": "string"})}
    breaking["required"] = ["policyId", "extra"]
    with pytest.raises(ValidationError) as caught:
        registry.register(subject, breaking)
    error = caught.value
    assert error.code == "VALID_3006"
    assert error.http_status == 409
    found = {(c["kind"], c["pointer"]) for c in error.details["breaking_changes"]}
    assert found == {
        ("TYPE_CHANGED", "#/properties/policyId"),
        ("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/extra"),
    }
    assert error.details["mode"] == "BACKWARD"
    assert "TYPE_CHANGED at #/properties/policyId" in error.message
    assert "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL at #/properties/extra" in error.message
    # Nothing was stored; the earlier version is intact.
    assert registry.versions(subject) == [1]
    assert dict(registry.get(subject).schema) == V1


@pytest.mark.parametrize(
    ("mode", "order", "refused_pointer"),
    [
        ("BACKWARD_TRANSITIVE", (CHAIN_A, CHAIN_B, CHAIN_C), "#/required/region"),
        ("FORWARD_TRANSITIVE", (CHAIN_C, CHAIN_B, CHAIN_A), "#/required/region"),
        ("FULL_TRANSITIVE", (CHAIN_A, CHAIN_B, CHAIN_C), "#/required/region"),
    ],
)
def test_transitive_modes_check_every_earlier_version(
    registry: SchemaRegistry, subject: str, mode: str, order: tuple[dict[str, Any], ...], refused_pointer: str
) -> None:
    first, second, third = order
    # The non-transitive form accepts the whole chain: each step only meets its neighbour.
    plain = subject + "Plain"
    registry.set_mode(plain, mode.removesuffix("_TRANSITIVE"))
    assert [registry.register(plain, s) for s in order] == [1, 2, 3]

    registry.set_mode(subject, mode)
    assert registry.register(subject, first) == 1
    assert registry.register(subject, second) == 2
    with pytest.raises(ValidationError) as caught:
        registry.register(subject, third)
    assert caught.value.code == "VALID_3006"
    breaking = caught.value.details["breaking_changes"]
    assert {(c["kind"], c["pointer"]) for c in breaking} == {("REQUIRED_ATTRIBUTE_ADDED", refused_pointer)}
    assert all(c["message"].startswith("against v1:") for c in breaking)
    assert registry.versions(subject) == [1, 2]


def test_forward_mode_refuses_what_backward_accepts(registry: SchemaRegistry, subject: str) -> None:
    widened = _policy(policyId={"type": ["string", "null"]})
    registry.set_mode(subject, "FORWARD")
    registry.register(subject, V1)
    with pytest.raises(ValidationError) as caught:
        registry.register(subject, widened)
    assert caught.value.code == "VALID_3006"
    registry.set_mode(subject, "BACKWARD")
    assert registry.register(subject, widened) == 2


def test_none_mode_accepts_anything_valid(registry: SchemaRegistry, subject: str) -> None:
    registry.set_mode(subject, "NONE")
    registry.register(subject, V1)
    assert registry.register(subject, {"type": "string"}) == 2


def test_mode_is_persisted(registry: SchemaRegistry, subject: str) -> None:
    registry.set_mode(subject, "full_transitive")
    again = SchemaRegistry(registry.store)
    assert again.mode(subject) is CompatibilityMode.FULL_TRANSITIVE


# ---- deprecation ---------------------------------------------------------------------------


def test_deprecated_versions_stay_readable_and_flagged(registry: SchemaRegistry, subject: str) -> None:
    registry.register(subject, V1)
    registry.register(subject, V2)
    flagged = registry.deprecate(subject, 1, "consumers moved to v2")
    assert flagged.deprecated
    assert flagged.deprecation_reason == "consumers moved to v2"
    read = registry.get(subject, 1)
    assert read.deprecated and dict(read.schema) == V1
    assert not registry.get(subject, 2).deprecated
    assert registry.versions(subject) == [1, 2]


def test_deprecated_versions_still_bind_transitive_checks(registry: SchemaRegistry, subject: str) -> None:
    registry.set_mode(subject, "BACKWARD_TRANSITIVE")
    for schema in (CHAIN_A, CHAIN_B):
        registry.register(subject, schema)
    registry.deprecate(subject, 1, "old")
    with pytest.raises(ValidationError):
        registry.register(subject, CHAIN_C)


def test_deprecation_errors(registry: SchemaRegistry, subject: str) -> None:
    with pytest.raises(ValidationError) as unknown_subject:
        registry.deprecate(subject, 1, "why")
    assert unknown_subject.value.code == "VALID_3007"
    registry.register(subject, V1)
    with pytest.raises(AegisError) as unknown_version:
        registry.deprecate(subject, 7, "why")
    assert unknown_version.value.code == "DB_4001"
    with pytest.raises(ValidationError) as no_reason:
        registry.deprecate(subject, 1, "  ")
    assert no_reason.value.code == "VALID_3002"
    assert not registry.get(subject, 1).deprecated


# ---- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"type": 5},
        {"type": "object", "properties": {"a": {"minLength": -1}}},
        {"type": "object", "properties": {"a": {"$ref": "#/definitions/Nowhere"}}},
        ["not", "an", "object"],
        "string",
    ],
)
def test_invalid_schema_is_refused_and_nothing_is_stored(
    registry: SchemaRegistry, subject: str, bad: Any
) -> None:
    registry.register(subject, V1)
    with pytest.raises(ValidationError) as caught:
        registry.register(subject, bad)
    assert caught.value.code == "VALID_3012"
    with pytest.raises(ValidationError):
        registry.check(subject, bad)
    assert registry.versions(subject) == [1]


@pytest.mark.parametrize("bad_subject", ["../etc", "policy_created", "", "Policy.Created", "P" * 200])
def test_bad_subject_names_are_refused(registry: SchemaRegistry, bad_subject: str) -> None:
    with pytest.raises(ValidationError) as caught:
        registry.register(bad_subject, V1)
    assert caught.value.code == "VALID_3003"


def test_reading_unknown_subject_or_version(registry: SchemaRegistry, subject: str) -> None:
    with pytest.raises(ValidationError) as unknown:
        registry.get(subject)
    assert unknown.value.code == "VALID_3007"
    with pytest.raises(ValidationError):
        registry.versions(subject)
    registry.register(subject, V1)
    with pytest.raises(AegisError) as missing:
        registry.get(subject, 2)
    assert missing.value.code == "DB_4001"
    for bad_version in ("abc", 0, -1):
        with pytest.raises(ValidationError) as bad:
            registry.get(subject, bad_version)
        assert bad.value.code == "VALID_3004"


def test_unknown_mode_is_refused(registry: SchemaRegistry, subject: str) -> None:
    with pytest.raises(ValidationError) as caught:
        registry.set_mode(subject, "LOOSE")
    assert caught.value.code == "VALID_3001"


# ---- concurrency ---------------------------------------------------------------------------


def _race(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # collected and asserted on below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_identical_registrations_create_one_version(
    registry: SchemaRegistry, subject: str
) -> None:
    results = _race(8, lambda _: registry.register(subject, V1))
    assert results == [1] * 8
    assert registry.versions(subject) == [1]


def test_concurrent_different_registrations_get_consecutive_versions(
    registry: SchemaRegistry, subject: str
) -> None:
    registry.register(subject, V1)
    schemas = [_policy(**{f"field{i}": {"type": "string"}}) for i in range(6)]
    results = _race(6, lambda i: registry.register(subject, schemas[i]))
    # Each adds one optional property to the closed v1… but also drops the others' fields
    # relative to whichever landed just before it, which breaks a closed model: exactly the
    # first one wins and every other one is refused with VALID_3006, never a duplicate number.
    winners = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert winners == [2]
    assert len(refused) == 5 and all(r.code == "VALID_3006" for r in refused)
    assert registry.versions(subject) == [1, 2]


def test_concurrent_compatible_registrations_serialise(registry: SchemaRegistry, subject: str) -> None:
    registry.set_mode(subject, "NONE")
    schemas = [{"type": "object", "title": f"t{i}"} for i in range(6)]
    results = _race(6, lambda i: registry.register(subject, schemas[i]))
    assert sorted(results) == [1, 2, 3, 4, 5, 6]
    assert registry.versions(subject) == [1, 2, 3, 4, 5, 6]


# ---- store specifics -----------------------------------------------------------------------


def test_file_layout(file_registry: SchemaRegistry, file_root: Path) -> None:
    file_registry.register("PolicyCreated", V1)
    file_registry.register("PolicyCreated", V2)
    file_registry.set_mode("PolicyCreated", "FULL")
    file_registry.deprecate("PolicyCreated", 1, "old")
    directory = file_root / "PolicyCreated"
    assert sorted(p.name for p in directory.iterdir()) == ["subject.json", "v1.json", "v2.json"]
    assert json.loads((directory / "v1.json").read_text()) == V1
    assert json.loads((directory / "subject.json").read_text()) == {
        "mode": "FULL",
        "deprecated": {"1": "old"},
    }


def test_file_store_reads_hand_written_versions(file_root: Path) -> None:
    (file_root / "PolicyDeleted").mkdir(parents=True)
    (file_root / "PolicyDeleted" / "v1.json").write_text(json.dumps(V1))
    registry = SchemaRegistry(FileRegistryStore(file_root))
    assert registry.subjects() == ["PolicyDeleted"]
    assert registry.mode("PolicyDeleted") is CompatibilityMode.BACKWARD
    assert registry.register("PolicyDeleted", V2) == 2


@pytest.mark.parametrize(
    ("files", "what"),
    [
        ({"v1.json": "{not json"}, "cannot read"),
        ({"v1.json": "[1, 2]"}, "JSON object"),
        ({"v1.json": json.dumps(V1), "v3.json": json.dumps(V2)}, "gap"),
    ],
)
def test_file_store_refuses_damaged_files(file_root: Path, files: dict[str, str], what: str) -> None:
    directory = file_root / "PolicyUpdated"
    directory.mkdir(parents=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    registry = SchemaRegistry(FileRegistryStore(file_root))
    with pytest.raises(ValidationError) as caught:
        registry.versions("PolicyUpdated")
    assert caught.value.code == "VALID_3012"
    assert what in caught.value.message
    # Registration is refused too, and the damaged files are left as they were.
    with pytest.raises(ValidationError):
        registry.register("PolicyUpdated", V1)
    assert {p.name: p.read_text() for p in directory.iterdir()} == files


def test_postgres_rows_and_constraints(
    postgres_registry: SchemaRegistry, pg_engine: sa.Engine, subject: str
) -> None:
    postgres_registry.register(subject, V1)
    postgres_registry.deprecate(subject, 1, "old")
    with pg_engine.connect() as conn:
        row = conn.execute(sa.select(event_schemas).where(event_schemas.c.subject == subject)).one()
    assert row.version == 1 and row.schema == V1 and row.mode == "BACKWARD"
    assert row.deprecated and row.deprecation_reason == "old"
    # The unique constraint holds even for a writer that skips the registry.
    with pytest.raises(sa.exc.IntegrityError), pg_engine.begin() as conn:
        conn.execute(
            event_schemas.insert().values(
                subject=subject, version=2, schema=V1, fingerprint=row.fingerprint, mode="NONE"
            )
        )
    assert postgres_registry.versions(subject) == [1]


def test_postgres_outage_is_a_coded_error() -> None:
    engine = sa.create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(AegisError) as caught:
        PostgresRegistryStore(engine)
    assert caught.value.code == "DB_4003"
    engine.dispose()


# ---- CLI -----------------------------------------------------------------------------------


def _write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_cli_check_exit_codes_and_output(tmp_path: Path) -> None:
    old = _write(tmp_path / "old.json", {"type": "integer"})
    new = _write(tmp_path / "new.json", {"type": "number"})
    runner = CliRunner()
    ok = runner.invoke(events, ["check", str(old), str(new)])
    assert ok.exit_code == 0, ok.output
    assert "TYPE_EXTENDED #/" in ok.output and "compatible under BACKWARD" in ok.output
    bad = runner.invoke(events, ["check", str(old), str(new), "--mode", "forward"])
    assert bad.exit_code == 1
    assert "BREAKING TYPE_NARROWED #/" in bad.output


def test_cli_check_bad_input(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    good = _write(tmp_path / "good.json", {"type": "string"})
    runner = CliRunner()
    result = runner.invoke(events, ["check", str(broken), str(good)])
    assert result.exit_code == 2
    assert "VALID_3012" in result.output
    missing = runner.invoke(events, ["check", str(tmp_path / "absent.json"), str(good)])
    assert missing.exit_code == 2 and "VALID_3012" in missing.output
    mode = runner.invoke(events, ["check", str(good), str(good), "--mode", "SIDEWAYS"])
    assert mode.exit_code == 2


def test_cli_register(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    runner = CliRunner()
    v1 = _write(tmp_path / "v1.json", V1)
    first = runner.invoke(events, ["register", "PolicyValidated", str(v1), "--registry", str(root)])
    assert first.exit_code == 0 and "registered PolicyValidated v1" in first.output
    again = runner.invoke(events, ["register", "PolicyValidated", str(v1), "--registry", str(root)])
    assert again.exit_code == 0 and "already has this schema as v1" in again.output
    breaking = _write(tmp_path / "v2.json", _policy(policyId={"type": "integer"}))
    refused = runner.invoke(events, ["register", "PolicyValidated", str(breaking), "--registry", str(root)])
    assert refused.exit_code == 1
    assert "VALID_3006" in refused.output and "TYPE_CHANGED #/properties/policyId" in refused.output
    assert sorted(p.name for p in (root / "PolicyValidated").iterdir()) == ["v1.json"]


def test_stored_versions_can_be_checked_and_registered_again(registry: SchemaRegistry, subject: str) -> None:
    registry.register(subject, V1)
    stored = registry.get(subject).schema  # a read-only view, not a dict
    assert registry.check(subject, stored).is_compatible
    assert registry.register(subject, stored) == 1


def test_repository_schemas_are_valid_and_self_compatible() -> None:
    # Read-only: the repository's own schemas/events must load, validate and check cleanly.
    registry = SchemaRegistry(FileRegistryStore(DEFAULT_SCHEMAS_DIR))
    assert registry.subjects(), f"no event schemas under {DEFAULT_SCHEMAS_DIR}"
    for name in registry.subjects():
        latest = registry.get(name)
        validate_schema(latest.schema)
        assert registry.check(name, latest.schema).is_compatible, name
