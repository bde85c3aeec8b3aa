"""A real Milvus standalone server (PyPI ``milvus`` 2.3: ``milvus.default_server``) on loopback.

Milvus Lite stays the default vector store; this server is what the production Milvus adapter
is tested against (``requires_milvus_server``). The wheel's launcher runs the Go binary with an
embedded etcd and local storage under the stack root; it picks free ports for its internal
components and takes the gRPC/HTTP proxy port it is given. The embedded etcd would listen on the
fixed ports 2379/2380, so a second stack on the machine could not start one: it gets an etcd
config of its own (``ETCD_CONFIG_PATH``) with free loopback ports. The launcher runs through
:mod:`milvus_launch`, so a restart keeps the proxy port it was given (see there why it would not).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aegis_orchestration.devstack.errors import StackError
from aegis_orchestration.devstack.process import alive, free_port, port_open, spawn, terminate, wait_until

STARTUP_TIMEOUT = 180.0
_LAUNCHER = Path(__file__).with_name("milvus_launch.py")


@dataclass
class MilvusServer:
    root: Path
    port: int
    etcd_ports: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))

    @property
    def home(self) -> Path:
        return self.root / "milvus-server"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        try:
            import milvus  # noqa: F401
        except ImportError as error:
            raise StackError(
                "the Milvus server wheel is missing: `pip install 'milvus>=2.3.5,<2.4'` in the project venv"
            ) from error
        self.home.mkdir(parents=True, exist_ok=True)

    def _etcd_config(self) -> Path:
        # etcd records its peer URL in its data: a restart on the same data keeps the same ports.
        recorded = self.home / "embed-etcd.ports"
        if recorded.exists():
            first, second = (int(port) for port in recorded.read_text().split())
            self.etcd_ports = (first, second)
        else:
            recorded.write_text(" ".join(str(port) for port in self.etcd_ports))
        client, peer = (f"http://127.0.0.1:{port}" for port in self.etcd_ports)
        path = self.home / "embed-etcd.yaml"
        path.write_text(
            "name: aegis\n"
            f"listen-client-urls: {client}\n"
            f"advertise-client-urls: {client}\n"
            f"listen-peer-urls: {peer}\n"
            f"initial-advertise-peer-urls: {peer}\n"
            f"initial-cluster: aegis={peer}\n"
            "initial-cluster-state: new\n"
        )
        return path

    def launch(self) -> int:
        command = [
            sys.executable,
            str(_LAUNCHER),
            "--data",
            str(self.home),
            "--proxy-port",
            str(self.port),
            "--etcd-port",
            str(self.etcd_ports[0]),
        ]
        env = {**os.environ, "ETCD_CONFIG_PATH": str(self._etcd_config())}
        return spawn(command, log=self.log, cwd=self.home, env=env)

    def wait_ready(self, pid: int | None = None, timeout: float = STARTUP_TIMEOUT) -> None:
        wait_until(self._answers, timeout=timeout, what="Milvus server", log=self.log, pid=pid)

    def _answers(self) -> bool:
        from pymilvus import MilvusClient

        if not port_open(self.port):
            return False
        client = MilvusClient(uri=self.uri, timeout=3)
        try:
            client.list_collections()
            return True
        finally:
            client.close()

    def running(self, pid: int | None) -> bool:
        return alive(pid, str(self.home)) and port_open(self.port)

    def stop(self, pid: int | None) -> None:
        if pid:
            terminate(pid, str(self.home), timeout=20.0)
