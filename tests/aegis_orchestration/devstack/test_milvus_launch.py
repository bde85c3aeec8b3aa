"""The Milvus launcher keeps the ports it is given: a port in TIME_WAIT is usable, a taken one is named."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from aegis_orchestration.devstack import milvus_launch
from aegis_orchestration.devstack.process import free_port


def _port_in_time_wait() -> int:
    """A port whose listener accepted a connection and closed it first: it sits in TIME_WAIT."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server side closes first, as a stopping server does
    client.recv(1)
    client.close()
    listener.close()
    return port


def test_a_port_in_time_wait_is_taken_as_the_server_will_bind_it() -> None:
    port = _port_in_time_wait()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain:
        # What the wheel's own probe does: refused, so it would move the proxy to another port.
        try:
            plain.bind(("127.0.0.1", port))
            refused = False
        except OSError:
            refused = True
    probe = milvus_launch._try_bind_port(None, port)  # type: ignore[arg-type]
    assert refused
    assert probe is not None
    probe.close()


def test_a_requested_proxy_port_that_is_taken_stops_the_launch_naming_it(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(  # nosec B603 # a fixed argv
            [
                sys.executable,
                str(Path(milvus_launch.__file__)),
                "--data",
                str(tmp_path),
                "--proxy-port",
                str(port),
                "--etcd-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"--proxy-port {port} is taken" in result.stderr
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())  # nothing started
