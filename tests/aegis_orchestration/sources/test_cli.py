"""``aegis sources serve`` as a real subprocess on a free port."""

from __future__ import annotations

import subprocess
import sys

import httpx


def test_serve_replays_over_http() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from aegis_orchestration.sources.cli import sources; sources()",
            "serve",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        base = line.split()[0].split("=", 1)[1]
        response = httpx.get(
            f"{base}/1421000/mssBizService_v2/getbizList_v2", params={"serviceKey": "k"}, timeout=10
        )
        assert response.status_code == 200 and "<totalCount>60</totalCount>" in response.text
    finally:
        process.terminate()
        process.wait(timeout=10)
