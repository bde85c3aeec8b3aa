"""The library as another team gets it: built into a wheel, installed into a fresh venv outside the
checkout with only the extras it asks for, and used there (``wheel_consumer.py``).

Building and installing take a minute or so (pip reuses its cache and ``PIP_FIND_LINKS``), so the
wheel, the venv and the consumer's report are built once for the module.
"""

from __future__ import annotations

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from aegis_shared.schemas import bundled_path

# Building and installing the wheel takes tens of seconds: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CONSUMER = Path(__file__).with_name("wheel_consumer.py")
EXTRAS = "auth,db"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH and no checkout on the path: only what the venv installed is importable.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a clean copy of what the distribution holds: setuptools builds in-tree and would
    # otherwise package stale files from the checkout's build/ directory.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for package in ("aegis_shared", "aegis_orchestration"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)], cwd=out)
    (built,) = out.glob("aegis_platform-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consumer")
    venv = root / "venv"
    # This interpreter's pip installs into the new venv: no ensurepip, and pip's cache is reused.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile",
         f"{wheel}[{EXTRAS}]"],
        cwd=root,
    )  # fmt: skip
    return venv


@pytest.fixture(scope="module")
def report(venv: Path) -> tuple[dict[str, Any], str]:
    workdir = venv.parent / "work"
    workdir.mkdir()
    result = _run([str(venv / "bin" / "python"), "-I", str(CONSUMER)], cwd=workdir)
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_the_wheel_ships_every_bundled_schema(wheel: Path) -> None:
    shipped = {
        str(path.relative_to(bundled_path("events").parent)).replace(os.sep, "/")
        for kind in ("events", "db")
        for path in bundled_path(kind).rglob("*")
        if path.is_file() and path.suffix in {".json", ".yaml"}
    }
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {
            name.removeprefix("aegis_shared/schemas/")
            for name in archive.namelist()
            if name.startswith("aegis_shared/schemas/") and not name.endswith(".py")
        }
    assert shipped and in_wheel == shipped


def test_the_wheel_ships_the_error_registry_data(wheel: Path) -> None:
    # Every AegisError reads its code from this file: without it the library cannot be imported.
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("aegis_shared/errors/codes.toml").decode("utf-8")
    assert shipped == (REPO / "aegis_shared" / "errors" / "codes.toml").read_text(encoding="utf-8")


def test_the_core_requires_no_dagster_or_client_library(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))
    requires = metadata.get_all("Requires-Dist") or []
    core = {
        r.split(";")[0].split("<")[0].split(">")[0].split("[")[0].strip()
        for r in requires
        if "extra ==" not in r
    }
    assert "pydantic" in core and "structlog" in core
    assert not core & {"dagster", "confluent-kafka", "sqlalchemy", "redis", "pyjwt", "fastapi", "pandas"}
    assert {"kafka", "db", "cache", "auth", "api", "stores", "orchestration"} <= set(
        metadata.get_all("Provides-Extra") or []
    )


def test_the_installed_library_works_outside_the_checkout(
    venv: Path, report: tuple[dict[str, Any], str]
) -> None:
    data, stderr = report
    assert Path(data["aegis_shared"]).is_relative_to(venv)
    assert not Path(data["aegis_shared"]).is_relative_to(REPO)

    # An event built, validated against the bundled schema and read back; a bad one refused.
    assert data["event"] == {
        "type": "PolicyDeleted",
        "version": "1.0",
        "data": {"policyId": "bizinfo:PBLN_1", "reason": "withdrawn"},
    }
    assert data["invalid_event"] == {"code": "VALID_3005", "pointer": "/data/reason"}
    assert data["subjects"] == sorted(p.name for p in bundled_path("events").iterdir() if p.is_dir())

    # Relaxing a constraint keeps BACKWARD compatibility; requiring a field breaks it, and says where.
    assert data["compatibility"] == {
        "relaxed": True,
        "stricter": False,
        "breaking": [["REQUIRED_ATTRIBUTE_ADDED", "#/required/title"]],
    }

    # The DB registry loads from inside the venv, and each table comes after what it references.
    registry = data["registry"]
    assert Path(registry["dir"]).is_relative_to(venv)
    assert sorted(registry["order"]) == sorted(p.stem for p in bundled_path("db").glob("*.yaml"))
    for position, table in enumerate(registry["order"]):
        assert set(registry["dependencies"][table]) <= set(registry["order"][:position]), table
    assert "migration order: " + " -> ".join(registry["order"]) in stderr

    assert data["error"]["code"] == "VALID_3002"
    assert data["error"]["http_status"] == 400 and data["error"]["details"] == {"field": "title"}
    assert data["jwt"] == {"subject": "user-7", "roles": ["admin"]}
    assert data["forged_jwt"].startswith("AUTH_")


def test_the_core_install_leaves_out_dagster_and_names_each_missing_extra(
    report: tuple[dict[str, Any], str],
) -> None:
    data, _ = report
    assert data["installed"] == dict.fromkeys(
        ("dagster", "confluent_kafka", "redis", "fastapi", "pandas", "pymilvus"), False
    )
    expected = {
        "messaging.EventPublisher": "kafka",
        "aegis_shared.messaging.publisher": "kafka",  # a direct import of the module, too
        "aegis_shared.cache": "cache",
        "aegis_shared.api": "api",
        "aegis_orchestration": "orchestration",
    }
    for label, extra in expected.items():
        failure = data["missing_extras"][label]
        assert failure is not None, f"{label} imported without its extra"
        assert failure["code"] == "SYS_7010" and failure["extra"] == extra
        assert f'pip install "aegis-platform[{extra}]"' in failure["message"]


def readme_example() -> tuple[set[str], str]:
    """The install line and the first Python example of the README's library section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## For library users") :]
    install = re.search(r'pip install "aegis-platform\[([a-z,]+)\]"', section)
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert install and code, "the README's library section lost its install line or example"
    return set(install.group(1).split(",")), code.group(1)


def test_the_readme_example_runs_as_written_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    extras, code = readme_example()
    # The venv holds no more than the README tells another team to install (plus db, for the registry).
    assert extras <= set(EXTRAS.split(","))
    script = tmp_path / "readme_example.py"
    script.write_text(code, encoding="utf-8")
    result = _run([str(venv / "bin" / "python"), "-I", str(script)], cwd=tmp_path)
    wire, _, rest = result.stdout.strip().partition("} ")
    event = json.loads(wire + "}")
    assert event["eventType"] == "PolicyDeleted" and event["data"]["reason"] == "withdrawn"
    assert rest == "user-7 ('user',)"
