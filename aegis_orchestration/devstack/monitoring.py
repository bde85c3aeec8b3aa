"""Debian's ``prometheus`` and ``prometheus-pushgateway``, on loopback, for the pipeline metrics.

Prometheus scrapes the Pushgateway (``honor_labels``, so pushed ``job``/``instance`` labels stay
as pushed) and ``aegis hot-path serve``'s ``/metrics`` port, and loads the alert rules that ship in
:mod:`aegis_orchestration.monitoring`. The scrape and rule-evaluation interval is short (2 s) so a
test reads back a pushed value within seconds; production sets its own.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from aegis_orchestration.devstack.errors import StackError
from aegis_orchestration.devstack.process import alive, port_open, spawn, terminate, wait_until

STARTUP_TIMEOUT = 60.0
SCRAPE_INTERVAL = "2s"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(
            f"{name} not found: run `apt-get update && apt-get install -y prometheus prometheus-pushgateway` "
            "(or `make setup`)"
        )
    return path


def alert_rules_file() -> Path:
    return Path(__file__).resolve().parents[1] / "monitoring" / "alerts.yaml"


def _ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # nosec B310 # a loopback http URL we built
        return bool(response.status == 200)


@dataclass
class PushgatewayServer:
    root: Path
    port: int

    @property
    def log(self) -> Path:
        return self.root / "pushgateway" / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        (self.root / "pushgateway").mkdir(parents=True, exist_ok=True)

    def launch(self) -> int:
        return spawn(
            [
                _binary("prometheus-pushgateway"),
                f"--web.listen-address=127.0.0.1:{self.port}",
                # Debian's default persists to one file under /var/lib for every gateway on the machine;
                # the running totals live in Redis, so this gateway keeps nothing on disk.
                "--persistence.file=",
            ],
            log=self.log,
        )

    def wait_ready(self, pid: int | None = None) -> None:
        wait_until(
            lambda: _ok(f"{self.url}/-/ready"),
            timeout=STARTUP_TIMEOUT,
            what="Pushgateway",
            log=self.log,
            pid=pid,
        )

    def running(self, pid: int | None) -> bool:
        return alive(pid, "pushgateway") and port_open(self.port)

    def stop(self, pid: int | None) -> None:
        if pid:
            terminate(pid, "pushgateway")


@dataclass
class PrometheusServer:
    root: Path
    port: int
    pushgateway_port: int
    hot_path_metrics_port: int

    @property
    def log(self) -> Path:
        return self.root / "prometheus" / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, object]:
        return {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
            "rule_files": [str(alert_rules_file())],
            "scrape_configs": [
                {
                    "job_name": "pushgateway",
                    "honor_labels": True,
                    "static_configs": [{"targets": [f"127.0.0.1:{self.pushgateway_port}"]}],
                },
                {
                    "job_name": "aegis-hot-path",
                    "static_configs": [{"targets": [f"127.0.0.1:{self.hot_path_metrics_port}"]}],
                },
            ],
        }

    def prepare(self) -> None:
        home = self.root / "prometheus"
        (home / "data").mkdir(parents=True, exist_ok=True)
        # JSON is YAML: no YAML writer needed for a config this small.
        (home / "prometheus.yml").write_text(json.dumps(self.config(), indent=2))

    def launch(self) -> int:
        home = self.root / "prometheus"
        return spawn(
            [
                _binary("prometheus"),
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=2d",
            ],
            log=self.log,
            cwd=home,
        )

    def wait_ready(self, pid: int | None = None) -> None:
        wait_until(
            lambda: _ok(f"{self.url}/-/ready"),
            timeout=STARTUP_TIMEOUT,
            what="Prometheus",
            log=self.log,
            pid=pid,
        )

    def running(self, pid: int | None) -> bool:
        return alive(pid, "prometheus --config") and port_open(self.port)

    def stop(self, pid: int | None) -> None:
        if pid:
            terminate(pid, "prometheus --config")
