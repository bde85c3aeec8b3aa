"""The alert rules (docs/platform.md §3) pass ``promtool check rules`` and their ``promtool test rules``
cases."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from aegis_orchestration.monitoring import ALERT_RULE_TESTS, ALERT_RULES
from aegis_shared.monitoring.pipeline_metrics import SPECS


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: `make setup` installs Debian's prometheus package"
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, check=False)


def test_the_rules_file_is_valid() -> None:
    result = _promtool("check", "rules", str(ALERT_RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_the_rules_fire_when_syncs_fail_quality_drops_collection_fails_and_lag_grows() -> None:
    # The cases in alerts_test.yaml: each alert stays silent on healthy series and fires on bad ones.
    result = _promtool("test", "rules", str(ALERT_RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", ALERT_RULE_TESTS.read_text()))
    defined = set(re.findall(r"- alert: (\w+)", ALERT_RULES.read_text()))
    assert tested == defined


def test_every_metric_an_alert_reads_is_one_the_pipeline_emits() -> None:
    groups = yaml.safe_load(ALERT_RULES.read_text())["groups"]
    exprs = " ".join(rule["expr"] for group in groups for rule in group["rules"])
    used = set(re.findall(r"\b(aegis_[a-z_]+)", exprs))
    assert used and used <= set(SPECS)
