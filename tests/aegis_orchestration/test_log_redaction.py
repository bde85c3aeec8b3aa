"""Every entry point configures redacting logging: planted secrets and personal data never reach
any output of the process (stdout, stderr, Dagster's console logger or its event log).

Each case runs the real entry point in its own process (``log_driver.py``), plants a data
portal service key, a password, a JWT, an e-mail address and a phone number in log calls made
inside it, and searches everything the process wrote.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from aegis_shared.config import Settings
from tests.aegis_orchestration.hot_path.helpers import Database, announcement, publish_collected

DRIVER = Path(__file__).with_name("log_driver.py")
ROOT = Path(__file__).resolve().parents[2]

PLANTED = {
    "service_key": "SvcKeyPlanted7Fq9Zx2Lw",
    "password": "PwPlanted-77x81",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.cGxhbnRlZHNpZ25hdHVyZQ",
    "email": "planted.founder@example.co.kr",
    "phone": "010-4321-8765",
}
# Fragments that would show a partial leak (the phone's digits, the key's tail).
FRAGMENTS = ["4321-8765", "43218765", "7Fq9Zx2Lw", "planted.founder", "77x81", "cGxhbnRlZHNpZ25hdHVyZQ"]


def _run(entry: str, *args: str, env: dict[str, str] | None = None, timeout: float = 180) -> str:
    environment = dict(os.environ)
    for name in ("AEGIS_LOG_LEVEL", "AEGIS_LOG_FORMAT", "DAGSTER_HOME"):
        environment.pop(name, None)
    environment.update(
        {"AEGIS_DATA_PORTAL_SERVICE_KEY": PLANTED["service_key"], "PYTHONPATH": str(ROOT), **(env or {})}
    )
    done = subprocess.run(
        [sys.executable, str(DRIVER), entry, json.dumps(PLANTED), *args],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def _assert_clean(output: str, where: str) -> None:
    leaked = [name for name, value in PLANTED.items() if value in output]
    leaked += [fragment for fragment in FRAGMENTS if fragment in output]
    assert not leaked, f"{where}: {leaked} leaked into\n{output}"
    # The planted lines were written (masked), so the search above looked at real output.
    assert f"planted-marker-{where}" in output
    for mask in ("[REDACTED]", "[EMAIL]", "[PHONE]"):
        assert mask in output, f"{where}: no {mask} in\n{output}"


def _json_lines(output: str) -> list[dict[str, object]]:
    lines = []
    for line in output.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return lines


@pytest.mark.slow  # loads the code location in a subprocess
def test_code_location_load_and_context_log_redact_everything() -> None:
    output = _run("definitions")
    _assert_clean(output, "definitions")
    # Loading the code location configured JSON logging for the Dagster service.
    planted = [line for line in _json_lines(output) if "planted-marker-definitions" in str(line)]
    assert planted and all(line.get("service") == "aegis-dagster" for line in planted)
    # context.log: Dagster's console logger and the run's event log (what the UI shows).
    assert "planted-marker-context" in output
    (event_log,) = [line["event_log"] for line in _json_lines(output) if "event_log" in line]
    shown = "\n".join(str(message) for message in event_log)
    assert "planted-marker-context: [EMAIL] [PHONE] token=[REDACTED]" in shown
    assert "password=[REDACTED] serviceKey=[REDACTED]" in shown


@pytest.mark.slow  # runs the aegis CLI in a subprocess
def test_the_aegis_cli_redacts_everything() -> None:
    output = _run("cli")
    _assert_clean(output, "cli")
    assert "planted" in output.splitlines()  # the command's own output is untouched


def test_hot_path_serve_redacts_everything(hp_settings: Settings, db: Database) -> None:
    # Records with contact details flow through the service while it logs the planted values.
    items = [announcement(i) for i in range(3)]
    publish_collected(hp_settings, items)
    url = sa.make_url(db.url).set(password=PLANTED["password"]).render_as_string(hide_password=False)
    output = _run(
        "serve",
        "serve",
        "--group-id",
        f"leak-{uuid.uuid4().hex[:8]}",
        "--idle-timeout",
        "4",
        "--session-timeout-ms",
        "6000",
        "--no-report",
        env={"AEGIS_ENV": hp_settings.env, "AEGIS_POSTGRES_URL": url},
    )
    _assert_clean(output, "serve")
    planted = [line for line in _json_lines(output) if "planted-marker-serve" in str(line)]
    assert planted and all(line.get("service") == "aegis-hot-path" for line in planted)
    assert "3 record(s), 3 row(s) written" in output


def test_the_demo_redacts_everything(hp_settings: Settings, db: Database, tmp_path: Path) -> None:
    (tmp_path / "dagster").mkdir()
    output = _run(
        "demo",
        "--day",
        "2026-08-20",
        "--days",
        "1",
        env={
            "AEGIS_ENV": hp_settings.env,
            "AEGIS_POSTGRES_URL": db.url,
            "AEGIS_DATA_DIR": str(tmp_path / "data"),
            "AEGIS_MILVUS_URI": str(tmp_path / "milvus.db"),
            "AEGIS_SEARCH_PATH": str(tmp_path / "search"),
            "AEGIS_GRAPH_NAME": f"leak_{uuid.uuid4().hex[:8]}",
            "DAGSTER_HOME": str(tmp_path / "dagster"),
        },
        timeout=600,
    )
    _assert_clean(output, "demo")
    planted = [line for line in _json_lines(output) if "planted-marker-demo" in str(line)]
    assert planted and all(line.get("service") == "aegis-demo" for line in planted)
    # `make run` prints the summary and real problems only: no library's INFO chatter (httpx
    # requests, Great Expectations' registrations), no warning about features used on purpose.
    chatter = [line for line in _json_lines(output) if line.get("level") in {"debug", "info"}]
    assert not chatter, chatter[:5]
    assert not re.search(r"\b(Beta|Preview|User)Warning\b", output), output
    assert "Checks passed" in output
