"""``aegis schema`` commands, run through click's runner against real files and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from aegis_shared.database import SchemaRegistry, default_registry_dir
from aegis_shared.database.cli import schema
from tests.aegis_shared.database.conftest import WriteTable
from tests.aegis_shared.database.schema_builders import ref, table
from tests.aegis_shared.database.test_schema_docs import parse_er_diagram


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(schema, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_validate_order_cycles_on_the_real_registry() -> None:
    code, out, _ = _run("validate")
    tables = len(list(default_registry_dir().glob("*.yaml")))
    assert code == 0 and out.strip() == f"OK: {tables} tables valid"
    code, out, _ = _run("order")
    assert code == 0 and out.split() == SchemaRegistry.load().migration_order()
    code, out, _ = _run("cycles")
    assert (code, out.strip()) == (0, "no cycles")


def test_validate_reports_every_problem_with_file_and_line(tmp_path: Path, write_table: WriteTable) -> None:
    d = tmp_path / "bad"
    write_table(
        d, "a", "name: a\nowner: s\nversion: 1\ncolumns:\n  - {name: id, type: TEXT, primary_key: true}\n"
    )
    write_table(d, "b", table("b", {"name": "x_id", "type": "TEXT"}, references=[ref("x", "x_id")]))
    code, _, err = _run("validate", "--dir", str(d))
    assert code == 1
    assert err.startswith("[VALID_3012] 1 schema problem(s):")
    assert f"{d / 'a.yaml'}:3 [version]: Input should be a valid string" in err
    (d / "a.yaml").unlink()
    code, _, err = _run("validate", "--dir", str(d))
    assert code == 1 and "[DB_4010]" in err and "table 'x' does not exist" in err


def test_cycles_exit_non_zero(tmp_path: Path, write_table: WriteTable) -> None:
    d = tmp_path / "cyc"
    write_table(d, "a", table("a", {"name": "b_id", "type": "TEXT"}, references=[ref("b", "b_id")]))
    write_table(d, "b", table("b", {"name": "a_id", "type": "TEXT"}, references=[ref("a", "a_id")]))
    code, out, _ = _run("cycles", "--dir", str(d))
    assert (code, out.strip()) == (1, "a -> b -> a")
    code, _, err = _run("order", "--dir", str(d))
    assert code == 1 and "reference cycle: a -> b -> a" in err


def test_docs_and_erd(tmp_path: Path) -> None:
    code, out, _ = _run("erd")
    entities, relations = parse_er_diagram(out)
    assert code == 0 and set(entities) == set(SchemaRegistry.load().names)
    assert len(relations) >= 8  # the seed-002 references, plus any the pipeline tables add
    code, out, _ = _run("docs", "--output", str(tmp_path / "schema.md"))
    text = (tmp_path / "schema.md").read_text(encoding="utf-8")
    assert code == 0 and "## applications" in text and "`reviewed_by` → `users.id`" in text


def test_migrate_dry_run_then_apply_then_impact(fresh_engine: sa.Engine, seed_dir: Path) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    code, out, _ = _run("migrate", "--dry-run", "--database-url", url, "--dir", str(seed_dir))
    assert code == 0 and "CREATE TABLE applications" in out and "-- step 1:" in out
    assert set(sa.inspect(fresh_engine).get_table_names()) == {"schema_migrations"}
    code, out, _ = _run("migrate", "--database-url", url, "--dir", str(seed_dir), "--actor", "ci")
    assert code == 0 and out.startswith("Applied ")
    code, out, _ = _run("migrate", "--database-url", url, "--dir", str(seed_dir))
    assert (code, out.strip()) == (0, "Database is up to date.")

    path = seed_dir / "users.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["columns"] = [c for c in data["columns"] if c["name"] != "phone"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, out, _ = _run("impact", "--database-url", url, "--dir", str(seed_dir), "--json")
    report = json.loads(out)
    assert code == 0 and report["impact"]["data_loss_risks"] == ["drop column users.phone (0 rows)"]
    assert "application-service" in report["impact"]["dependent_services"]
    code, _, err = _run("migrate", "--database-url", url, "--dir", str(seed_dir))
    assert code == 1 and err.startswith("[DB_4008]")
    code, out, _ = _run("migrate", "--database-url", url, "--dir", str(seed_dir), "--allow-data-loss")
    assert code == 0 and out.startswith("Applied 1 steps")


def test_impact_between_two_registry_directories(
    fresh_engine: sa.Engine, seed_dir: Path, tmp_path: Path
) -> None:
    old_dir = tmp_path / "old"
    SchemaRegistry.load(seed_dir).save(old_dir)
    (seed_dir / "notifications.yaml").unlink()
    url = fresh_engine.url.render_as_string(hide_password=False)
    code, out, _ = _run("impact", "--database-url", url, "--dir", str(seed_dir), "--from", str(old_dir))
    assert code == 0
    assert "Affected tables: notifications" in out and "drop table notifications (0 rows)" in out


def test_validate_reports_a_repeated_or_decreasing_version_history(tmp_path: Path) -> None:
    """The shipped ``policies.yaml`` as it was (1.2.0 listed twice) and two other slips."""
    shipped = default_registry_dir()
    d = tmp_path / "history"
    d.mkdir()
    for path in shipped.glob("*.yaml"):
        (d / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    policies = d / "policies.yaml"
    text = policies.read_text(encoding="utf-8")
    assert "  - version: 1.2.1\n" in text
    policies.write_text(text.replace("  - version: 1.2.1\n", "  - version: 1.2.0\n"), encoding="utf-8")
    lines = policies.read_text(encoding="utf-8").splitlines()
    line = [n for n, text_line in enumerate(lines, 1) if text_line == "  - version: 1.2.0"][1]

    code, _, err = _run("validate", "--dir", str(d))
    assert code == 1 and err.startswith("[VALID_3012] 1 schema problem(s):")
    assert (
        f"{policies}:{line} [version_history.2.version]: version_history lists version 1.2.0 twice "
        "(entries 2 and 3)"
    ) in err

    users = yaml.safe_load((d / "users.yaml").read_text(encoding="utf-8"))
    users["version"] = "1.1.0"  # bumped without recording the change
    users["version_history"] += [
        {"version": "0.9.0", "date": dt.date(2026, 11, 5), "changes": "older than 1.0.0, listed after it"}
    ]
    (d / "users.yaml").write_text(
        yaml.safe_dump(users, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    policies.write_text(text, encoding="utf-8")
    code, _, err = _run("validate", "--dir", str(d))
    assert code == 1 and err.startswith("[VALID_3012] 2 schema problem(s):")
    assert "version_history goes back from 1.0.0 to 0.9.0 (entry 2); versions must increase" in err
    assert "table version 1.1.0 is not the newest version_history entry (0.9.0)" in err


def test_every_shipped_table_has_a_strictly_increasing_history_ending_at_its_version() -> None:
    for table_schema in SchemaRegistry.load():
        versions = [tuple(map(int, e.version.split("."))) for e in table_schema.version_history]
        assert versions == sorted(set(versions)), table_schema.name
        assert table_schema.version_history[-1].version == table_schema.version
    policies = SchemaRegistry.load().get("policies")
    assert [e.version for e in policies.version_history] == [
        "1.0.0",
        "1.2.0",
        "1.2.1",
        "1.3.0",
        "1.4.0",
        "1.5.0",
        "1.6.0",
    ]
