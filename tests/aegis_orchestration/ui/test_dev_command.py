"""`dagster dev` run in the checkout without the stack's settings says, in one line, to use `make dev`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_dagster_dev_without_the_stack_says_use_make_dev(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DAGSTER_HOME", "AEGIS_DAGSTER_PG_URL"}}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "make dev" in last and "AEGIS_DAGSTER_PG_URL" in last, result.stderr
    # Nothing of Dagster's temporary instance is left behind in the checkout.
    assert not list(REPO.glob(".tmp_dagster_home_*"))
