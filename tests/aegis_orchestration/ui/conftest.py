"""The Dagster UI as `make dev` serves it, on the test stack, driven by Debian's Chromium.

``dagster dev`` runs in its own process group with the stack's settings, a replay server of the
bundled snapshot (the devstack's, exactly as `make dev` starts it), a fresh Dagster database and
fresh store namespaces. Playwright comes from PyPI and never downloads a browser: it drives
``/usr/bin/chromium`` (``apt-get install -y chromium``, in the Makefile's system-deps).

Screenshots go to ``build/ui-screenshots`` (``AEGIS_UI_SCREENSHOTS`` overrides); with
``AEGIS_UI_DOCS_IMAGES`` set (``make screenshots``) the README's are copied there too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aegis_orchestration.devstack import DevStack
from aegis_orchestration.devstack.process import alive, free_port, terminate, wait_until
from aegis_orchestration.devstack.servers import ReplayProcess
from tests.conftest import create_migrated_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[3]
SHOTS = Path(os.environ.get("AEGIS_UI_SCREENSHOTS", REPO / "build" / "ui-screenshots"))
# Everything in the UI waits on a busy 2-core machine: generous, but a hang still fails.
UI_TIMEOUT_MS = 180_000


@dataclass
class DagsterUI:
    url: str
    env: dict[str, str]
    log: Path

    def graphql(self, query: str, variables: dict[str, object] | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer
        return answer["data"]

    def launch(
        self,
        job: str,
        *,
        partition: str,
        dimensions: dict[str, str] | None = None,
        assets: list[str] | None = None,
        checks: list[tuple[str, str]] | None = None,
        run_config: dict[str, object] | None = None,
    ) -> str:
        """Launch a run of ``job`` (a subset of ``assets`` for ``__ASSET_JOB``) as the launchpad does."""
        selector: dict[str, object] = {
            "repositoryLocationName": "aegis",
            "repositoryName": "__repository__",
            "pipelineName": job,
        }
        if assets is not None:
            selector["assetSelection"] = [{"path": [key]} for key in assets]
            selector["assetCheckSelection"] = [
                {"assetKey": {"path": [asset]}, "name": name} for asset, name in checks or []
            ]
        tags = [{"key": "dagster/partition", "value": partition}]
        tags += [{"key": f"dagster/partition/{k}", "value": v} for k, v in (dimensions or {}).items()]
        data = self.graphql(
            "mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) { "
            "__typename ... on LaunchRunSuccess { run { runId } } ... on Error { message } "
            "... on RunConfigValidationInvalid { errors { message } } } }",
            {
                "p": {
                    "selector": selector,
                    "runConfigData": run_config or {},
                    "mode": "default",
                    "executionMetadata": {"tags": tags},
                }
            },
        )
        result = data["launchPipelineExecution"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]

    def run_status(self, run_id: str) -> str:
        data = self.graphql(
            "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run_id}
        )
        return data["runOrError"]["status"]

    def wait_for_run(self, run_id: str, timeout: float = 900) -> str:
        """The run's final status (a queued run waits its turn behind the backfill's)."""
        finished = {"SUCCESS", "FAILURE", "CANCELED"}
        return wait_for(
            lambda: (status := self.run_status(run_id)) in finished and status,
            timeout=timeout,
            what=f"run {run_id} did not finish",
            interval=5,
        )

    def run_failure(self, run_id: str) -> str:
        """The run's failure messages, for an assertion's explanation."""
        data = self.graphql(
            "query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events { "
            "__typename ... on ExecutionStepFailureEvent { message error { message } } "
            "... on RunFailureEvent { message } } } } }",
            {"id": run_id},
        )
        events = data["logsForRun"].get("events", [])
        failures = [e for e in events if e["__typename"] in {"ExecutionStepFailureEvent", "RunFailureEvent"}]
        return f"run {run_id}: {failures}\n(dagster dev log: {self.log})"

    def materialization_metadata(
        self, asset: str, partition: str, *, required: bool = True
    ) -> dict[str, object]:
        """The numeric and text metadata of ``asset``'s latest materialization of ``partition``."""
        data = self.graphql(
            "query($key: AssetKeyInput!, $p: [String!]) { assetOrError(assetKey: $key) { ... on Asset { "
            "assetMaterializations(partitions: $p, limit: 1) { metadataEntries { label "
            "... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue } "
            "... on TextMetadataEntry { text } ... on MarkdownMetadataEntry { mdStr } } } } } }",
            {"key": {"path": [asset]}, "p": [partition]},
        )
        materializations = (data["assetOrError"] or {}).get("assetMaterializations") or []
        if not materializations:
            assert not required, f"{asset} has no materialization of {partition}"
            return {}
        return {
            entry["label"]: next((v for k, v in entry.items() if k != "label"), None)
            for entry in materializations[0]["metadataEntries"]
        }


def _create_database(stack: DevStack, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(stack.postgres.url("postgres", driver="postgresql"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _location_loaded(ui: DagsterUI) -> bool:
    data = ui.graphql(
        "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
        "locationOrLoadError { __typename } } } } }"
    )
    entries = data["workspaceOrError"]["locationEntries"]
    return bool(entries) and all(
        e["loadStatus"] == "LOADED" and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
        for e in entries
    )


@pytest.fixture(scope="session")
def dagster_ui(
    devstack: DevStack, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterUI]:
    root = tmp_path_factory.mktemp("dagster-ui")
    replay = ReplayProcess(root, free_port())
    replay.prepare()
    replay_pid = replay.launch()
    replay.wait_ready(replay_pid)

    name = f"ui_{uuid.uuid4().hex[:8]}"
    # Resources never run DDL: the pipeline's database is a copy of the migrated template, as
    # `aegis devstack up` migrates the stack's own; Dagster creates its tables itself.
    create_migrated_database(devstack, name)
    _create_database(devstack, f"{name}_dagster")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        **devstack.env(embedded_stores=True),
        **replay.env(),
        "AEGIS_POSTGRES_URL": devstack.postgres.url(name),
        "AEGIS_DAGSTER_PG_URL": devstack.postgres.url(f"{name}_dagster", driver="postgresql+psycopg2"),
        "AEGIS_ENV": name,
        "AEGIS_GRAPH_NAME": name,
        "AEGIS_MILVUS_URI": str(root / "milvus.db"),
        "AEGIS_SEARCH_PATH": str(root / "search"),
        "DAGSTER_HOME": str(home),
        # A code server slow to answer on a loaded machine is not a failure of the UI.
        "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
    }
    for key in ("AEGIS_NEO4J_URI", "AEGIS_OPENSEARCH_URL", "AEGIS_AS_OF"):
        env.pop(key, None)
    port = free_port()
    log = root / "dagster-dev.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                str(REPO / "workspace.yaml"),
            ],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    ui = DagsterUI(url=f"http://127.0.0.1:{port}", env=env, log=log)
    try:
        wait_until(lambda: _location_loaded(ui), timeout=600, what="dagster dev", log=log, pid=proc.pid)
        yield ui
    finally:
        if alive(proc.pid):
            terminate(proc.pid, timeout=30)
        replay.stop(replay_pid)


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# until it closes, and every later async test would fail with "cannot be called from a running
# event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{request.node.name}-final.png"))
        context.close()


def screenshot(page, name: str, *, readme: bool = False) -> Path:
    """Save a screenshot as a test artifact; the README's also go to AEGIS_UI_DOCS_IMAGES."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    docs = os.environ.get("AEGIS_UI_DOCS_IMAGES")
    if readme and docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(docs) / f"ui-{name}.png")
    return path


def wait_for(probe, *, timeout: float, what: str, interval: float = 3.0):
    """Poll ``probe`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} within {timeout:.0f}s")
