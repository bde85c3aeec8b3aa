"""Prometheus alert rules for the pipeline metrics (see docs/platform.md §3), shipped with the code location.

``alerts.yaml`` is what Prometheus loads (the devstack's does); ``alerts_test.yaml`` holds its
``promtool test rules`` cases. Both are checked by promtool in the tests.
"""

from pathlib import Path

ALERT_RULES = Path(__file__).with_name("alerts.yaml")
ALERT_RULE_TESTS = Path(__file__).with_name("alerts_test.yaml")
