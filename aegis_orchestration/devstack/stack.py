"""DevStack: bring the local servers up, report them, hand out settings, and take them down.

The full stack is what production runs: PostgreSQL, Apache Kafka, Neo4j, OpenSearch, plus
redis-server (the Redis cache, with FalkorDB loaded). ``lite`` leaves out Neo4j and OpenSearch,
so the graph and search stores fall back to their embedded choices (FalkorDB, tantivy).
``milvus_server`` adds a Milvus standalone server for the production vector adapter; Milvus
Lite stays the default vector store either way. ``metrics`` (on by default) adds Debian's
Prometheus and Pushgateway: batch runs push the pipeline metrics to the gateway, Prometheus
scrapes it and evaluates the alert rules. ``replay`` adds the replay server of the bundled
snapshot and points every source at it (``make dev``: the UI's runs and backfills need no keys).
The servers start in parallel.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from aegis_orchestration.devstack.errors import StackError
from aegis_orchestration.devstack.jvm_servers import KafkaServer, Neo4jServer, OpenSearchServer
from aegis_orchestration.devstack.milvus_server import MilvusServer
from aegis_orchestration.devstack.monitoring import PrometheusServer, PushgatewayServer
from aegis_orchestration.devstack.process import free_port, port_open
from aegis_orchestration.devstack.servers import GraphServer, PostgresServer, ReplayProcess
from aegis_shared.config import Settings
from aegis_shared.database import apply_registry

__all__ = ["DevStack", "Ports", "StackError"]


@dataclass(frozen=True)
class Ports:
    postgres: int = 55432
    kafka: int = 59092
    kafka_controller: int = 59093
    redis: int = 56379
    neo4j: int = 57687
    opensearch: int = 59200
    opensearch_transport: int = 59300
    milvus: int = 59530
    prometheus: int = 59090
    pushgateway: int = 59091
    hot_path_metrics: int = 59464  # where `aegis hot-path serve` exposes /metrics
    replay: int = 58088

    @classmethod
    def from_env(cls) -> Ports:
        """Ports from ``AEGIS_DEVSTACK_*_PORT``, so two checkouts can run side by side."""
        defaults = cls()
        return cls(
            **{
                f.name: int(
                    os.environ.get(f"AEGIS_DEVSTACK_{f.name.upper()}_PORT", getattr(defaults, f.name))
                )
                for f in fields(cls)
            }
        )

    @classmethod
    def free(cls) -> Ports:
        return cls(**{f.name: free_port() for f in fields(cls)})


@dataclass
class _State:
    ports: dict[str, int]
    pids: dict[str, int] = field(default_factory=dict)
    lite: bool = False
    milvus_server: bool = False
    metrics: bool = True
    replay: bool = False


class _Server(Protocol):
    def running(self, pid: int | None) -> bool: ...
    def stop(self, pid: int | None) -> None: ...


class DevStack:
    """The local stack rooted at ``root`` (data, logs and a state file of what it started).

    ``up`` is idempotent: servers already running from this root are reused. ``down`` stops
    exactly the processes recorded in the state file, nothing else.
    """

    def __init__(
        self,
        root: Path,
        ports: Ports | None = None,
        *,
        lite: bool | None = None,
        milvus_server: bool | None = None,
        metrics: bool | None = None,
        replay: bool | None = None,
    ) -> None:
        self.root = root.resolve()
        self._state_file = self.root / "devstack.json"
        self._lock = threading.Lock()
        state = self._load()
        if ports is None:
            ports = Ports(**state.ports) if state else Ports.from_env()
        self.ports = ports
        self.lite = lite if lite is not None else (state.lite if state else False)
        self.milvus_server = (
            milvus_server if milvus_server is not None else bool(state and state.milvus_server)
        )
        self.replay = replay if replay is not None else bool(state and state.replay)
        self.postgres = PostgresServer(self.root, ports.postgres)
        self.broker = KafkaServer(self.root, ports.kafka, ports.kafka_controller)
        self.graph = GraphServer(self.root, ports.redis)  # redis-server with FalkorDB: cache + light graph
        self.neo4j = Neo4jServer(self.root, ports.neo4j)
        self.opensearch = OpenSearchServer(self.root, ports.opensearch, ports.opensearch_transport)
        self.milvus = MilvusServer(self.root, ports.milvus)
        self.metrics = metrics if metrics is not None else (state.metrics if state else True)
        self.pushgateway = PushgatewayServer(self.root, ports.pushgateway)
        self.prometheus = PrometheusServer(
            self.root, ports.prometheus, ports.pushgateway, ports.hot_path_metrics
        )
        self.replay_server = ReplayProcess(self.root, ports.replay)

    # -- which servers -----------------------------------------------------------------------
    def components(self) -> list[str]:
        names = ["postgres", "kafka", "redis"]
        if not self.lite:
            names += ["neo4j", "opensearch"]
        if self.milvus_server:
            names.append("milvus")
        if self.metrics:
            names += ["pushgateway", "prometheus"]
        if self.replay:
            names.append("replay")
        return names

    def _server(self, name: str) -> Any:
        return {
            "postgres": self.postgres,
            "kafka": self.broker,
            "redis": self.graph,
            "neo4j": self.neo4j,
            "opensearch": self.opensearch,
            "milvus": self.milvus,
            "pushgateway": self.pushgateway,
            "prometheus": self.prometheus,
            "replay": self.replay_server,
        }[name]

    def _ports_of(self, name: str) -> list[int]:
        extra = {"kafka": ["kafka_controller"], "opensearch": ["opensearch_transport"]}.get(name, [])
        return [getattr(self.ports, port) for port in [name, *extra]]

    # -- state -------------------------------------------------------------------------------
    def _load(self) -> _State | None:
        if not self._state_file.exists():
            return None
        raw = json.loads(self._state_file.read_text())
        # A stack started before the monitoring servers existed: their ports take the defaults.
        for name in ("prometheus", "pushgateway", "hot_path_metrics"):
            raw.get("ports", {}).setdefault(name, getattr(Ports(), name))
        raw.setdefault("metrics", False)
        if set(raw.get("ports", {})) != {f.name for f in fields(Ports)}:
            raise StackError(
                f"{self._state_file} was written by an older devstack; stop its servers and remove the file"
            )
        return _State(**raw)

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
        state.lite, state.milvus_server = self.lite, self.milvus_server
        state.metrics, state.replay = self.metrics, self.replay
        self._save(state)

        def record(name: str, pid: int) -> None:
            with self._lock:
                state.pids[name] = pid
                self._save(state)

        def start(name: str) -> None:
            self._start_one(name, state, record)

        names = self.components()
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="devstack") as pool:
            for future in [pool.submit(start, name) for name in names]:
                error = future.exception()
                if error is not None:
                    errors.append(error)
        if errors:
            self.down()
            raise errors[0]
        for sub in ("milvus", "search", "dagster_home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._install_dagster_yaml()
        self.migrate()
        return self

    def migrate(self) -> None:
        """Bring the stack's ``aegis`` database to the schema registry: the explicit migration
        step of a local stack (resources only check the version, they never run DDL)."""
        engine = sa.create_engine(self.postgres.url("aegis"))
        try:
            apply_registry(engine, actor="devstack up")
        finally:
            engine.dispose()

    def _install_dagster_yaml(self) -> None:
        """DAGSTER_HOME gets the repo's dagster.yaml (Postgres storage through AEGIS_DAGSTER_PG_URL)."""
        source = Path(__file__).resolve().parents[2] / "dagster.yaml"
        if source.exists():
            (self.root / "dagster_home" / "dagster.yaml").write_text(source.read_text())

    @staticmethod
    def _check_port_free(port: int, what: str) -> None:
        if port_open(port):
            raise StackError(f"port {port} for {what} is taken by another process; choose another port")

    def down(self) -> None:
        state = self._load()
        if state is None:
            return
        stops: list[Callable[[], None]] = []
        for name in (
            "kafka",
            "redis",
            "neo4j",
            "opensearch",
            "milvus",
            "pushgateway",
            "prometheus",
            "replay",
        ):
            if name in state.pids:
                server: _Server = self._server(name)
                stops.append(lambda server=server, pid=state.pids[name]: server.stop(pid))
        with ThreadPoolExecutor(max_workers=max(1, len(stops))) as pool:
            for future in [pool.submit(stop) for stop in stops]:
                future.result()
        self.postgres.stop()
        self._state_file.unlink(missing_ok=True)

    def stop_server(self, name: str) -> None:
        """Stop one recorded server (tests use it for outages); ``up`` starts it again."""
        state = self._load()
        if state is None or name not in state.pids:
            return
        if name == "postgres":
            self.postgres.stop()
        else:
            self._server(name).stop(state.pids[name])
        del state.pids[name]
        self._save(state)

    def start_server(self, name: str, *, timeout: float | None = None) -> None:
        """Start one stopped server again and wait for it (``timeout`` overrides its own).

        Unlike ``up``, a server that fails to come back leaves the others running: an outage
        test must not take the rest of its session's stack with it.
        """
        state = self._load()
        if state is None:
            raise StackError(f"no stack in {self.root}; run `aegis devstack up` first")

        def record(name: str, pid: int) -> None:
            state.pids[name] = pid
            self._save(state)

        self._start_one(name, state, record, timeout)

    def _start_one(
        self,
        name: str,
        state: _State,
        record: Callable[[str, int], None],
        timeout: float | None = None,
    ) -> None:
        """Launch one server unless it runs, record its pid as soon as it exists, wait for it."""
        if name == "postgres":
            record(name, self.postgres.start())
            return
        server = self._server(name)
        if server.running(state.pids.get(name)):
            return
        for port in self._ports_of(name):
            self._check_port_free(port, name)
        server.prepare()
        pid = server.launch()
        record(name, pid)
        if timeout is None:
            server.wait_ready(pid)
        else:
            server.wait_ready(pid, timeout=timeout)

    def status(self) -> dict[str, dict[str, object]]:
        state = self._load()
        pids = state.pids if state else {}
        report: dict[str, dict[str, object]] = {}
        for name in self.components():
            healthy = (
                self.postgres.running() if name == "postgres" else self._server(name).running(pids.get(name))
            )
            report[name] = {"port": getattr(self.ports, name), "pid": pids.get(name), "healthy": healthy}
        return report

    def pids(self) -> dict[str, int]:
        state = self._load()
        return dict(state.pids) if state else {}

    # -- configuration -----------------------------------------------------------------------
    def env(self, *, embedded_stores: bool = False) -> dict[str, str]:
        """The ``AEGIS_*`` variables that point every component at this stack.

        The full stack points the graph and search stores at Neo4j and OpenSearch;
        ``embedded_stores`` (and a lite stack) leave them on FalkorDB and tantivy.
        """
        env = {
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
        if not self.lite and not embedded_stores:
            env["AEGIS_NEO4J_URI"] = self.neo4j.uri
            env["AEGIS_OPENSEARCH_URL"] = self.opensearch.url
        if self.metrics:
            env["AEGIS_PUSHGATEWAY_URL"] = self.pushgateway.url
            env["AEGIS_PROMETHEUS_URL"] = self.prometheus.url
            env["AEGIS_METRICS_PORT"] = str(self.ports.hot_path_metrics)
        if self.replay:
            env.update(self.replay_server.env())
        return env

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
        if self.metrics:
            values["pushgateway_url"] = self.pushgateway.url
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]
