"""DevStack: bring the local servers up, report them, hand out settings, and take them down."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aegis_orchestration.devstack.process import free_port, port_open
from aegis_orchestration.devstack.servers import BrokerServer, GraphServer, PostgresServer, StackError
from aegis_shared.config import Settings

__all__ = ["DevStack", "Ports", "StackError"]


@dataclass(frozen=True)
class Ports:
    postgres: int = 55432
    kafka: int = 59092
    redis: int = 56379

    @classmethod
    def from_env(cls) -> Ports:
        """Ports from ``AEGIS_DEVSTACK_*_PORT``, so two checkouts can run side by side."""
        defaults = cls()
        return cls(
            **{
                name: int(os.environ.get(f"AEGIS_DEVSTACK_{name.upper()}_PORT", getattr(defaults, name)))
                for name in ("postgres", "kafka", "redis")
            }
        )

    @classmethod
    def free(cls) -> Ports:
        return cls(postgres=free_port(), kafka=free_port(), redis=free_port())


@dataclass
class _State:
    ports: dict[str, int]
    pids: dict[str, int] = field(default_factory=dict)


class DevStack:
    """The local stack rooted at ``root`` (data, logs and a state file of what it started).

    ``up`` is idempotent: servers already running from this root are reused. ``down`` stops
    exactly the processes recorded in the state file, nothing else.
    """

    def __init__(self, root: Path, ports: Ports | None = None) -> None:
        self.root = root.resolve()
        self._state_file = self.root / "devstack.json"
        state = self._load()
        if ports is None:
            ports = Ports(**state.ports) if state else Ports.from_env()
        self.ports = ports
        self.postgres = PostgresServer(self.root, ports.postgres)
        self.broker = BrokerServer(self.root, ports.kafka)
        self.graph = GraphServer(self.root, ports.redis)

    # -- state -------------------------------------------------------------------------------
    def _load(self) -> _State | None:
        if not self._state_file.exists():
            return None
        return _State(**json.loads(self._state_file.read_text()))

    def _save(self, state: _State) -> None:
        self._state_file.write_text(json.dumps(asdict(state), indent=2))

    # -- lifecycle ---------------------------------------------------------------------------
    def up(self) -> DevStack:
        self.root.mkdir(parents=True, exist_ok=True)
        state = self._load() or _State(ports=asdict(self.ports))
        if state.ports != asdict(self.ports):
            raise StackError(
                f"a stack in {self.root} already uses ports {state.ports}; run `aegis devstack down` first"
            )
        self._save(state)
        try:
            state.pids["postgres"] = self.postgres.start()
            self._save(state)
            if not self.broker.running(state.pids.get("kafka")):
                self._check_port_free(self.ports.kafka, "Kafka broker")
                state.pids["kafka"] = self.broker.start()
                self._save(state)
            if not self.graph.running(state.pids.get("redis")):
                self._check_port_free(self.ports.redis, "FalkorDB/Redis")
                state.pids["redis"] = self.graph.start()
                self._save(state)
        except Exception:
            self.down()
            raise
        for sub in ("milvus", "search", "dagster_home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._install_dagster_yaml()
        return self

    def _install_dagster_yaml(self) -> None:
        """DAGSTER_HOME gets the repo's dagster.yaml (Postgres storage through AEGIS_DAGSTER_PG_URL)."""
        source = Path(__file__).resolve().parents[2] / "dagster.yaml"
        if source.exists():
            (self.root / "dagster_home" / "dagster.yaml").write_text(source.read_text())

    @staticmethod
    def _check_port_free(port: int, what: str) -> None:
        if port_open(port):
            raise StackError(f"port {port} for the {what} is taken by another process; choose another port")

    def down(self) -> None:
        state = self._load()
        if state is None:
            return
        self.broker.stop(state.pids.get("kafka"))
        self.graph.stop(state.pids.get("redis"))
        self.postgres.stop()
        self._state_file.unlink(missing_ok=True)

    def status(self) -> dict[str, dict[str, object]]:
        state = self._load()
        pids = state.pids if state else {}
        return {
            "postgres": {
                "port": self.ports.postgres,
                "pid": pids.get("postgres"),
                "healthy": self.postgres.running(),
            },
            "kafka": {
                "port": self.ports.kafka,
                "pid": pids.get("kafka"),
                "healthy": self.broker.running(pids.get("kafka")),
            },
            "redis": {
                "port": self.ports.redis,
                "pid": pids.get("redis"),
                "healthy": self.graph.running(pids.get("redis")),
            },
        }

    def pids(self) -> dict[str, int]:
        state = self._load()
        return dict(state.pids) if state else {}

    # -- configuration -----------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The ``AEGIS_*`` variables that point every component at this stack."""
        return {
            "AEGIS_POSTGRES_URL": self.postgres.url("aegis"),
            # dagster-postgres speaks psycopg2; SQLAlchemy 2.1 would otherwise pick psycopg 3 for postgresql://.
            "AEGIS_DAGSTER_PG_URL": self.postgres.url("dagster", driver="postgresql+psycopg2"),
            "AEGIS_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "AEGIS_REDIS_URL": f"{self.graph.url}/0",
            "AEGIS_GRAPH_URL": self.graph.url,
            "AEGIS_MILVUS_URI": str(self.root / "milvus" / "aegis.db"),
            "AEGIS_SEARCH_PATH": str(self.root / "search"),
            "AEGIS_DATA_DIR": str(self.root),
            "DAGSTER_HOME": str(self.root / "dagster_home"),
        }

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "postgres_url": self.postgres.url("aegis"),
            "kafka_bootstrap": self.broker.bootstrap,
            "redis_url": f"{self.graph.url}/0",
            "graph_url": self.graph.url,
            "milvus_uri": str(self.root / "milvus" / "aegis.db"),
            "search_path": self.root / "search",
            "data_dir": self.root,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]
