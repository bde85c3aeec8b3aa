"""The devstack starts real servers, is idempotent, and `down` leaves nothing behind."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psutil
import redis
import sqlalchemy as sa
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from aegis_orchestration.devstack import DevStack, Ports, StackError
from aegis_orchestration.devstack.process import port_open


def test_session_stack_serves_every_component(
    devstack: DevStack, pg_engine: sa.Engine, redis_url: str
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
    status = devstack.status()
    assert all(component["healthy"] for component in status.values())


def test_up_is_idempotent_and_down_leaves_no_process_or_port() -> None:
    root = Path(tempfile.mkdtemp(prefix="aegis-down-test-"))
    stack = DevStack(root, Ports.free()).up()
    pids = stack.pids()
    assert set(pids) == {"postgres", "kafka", "redis"}
    assert DevStack(root).up().pids() == pids  # a second `up` reuses what runs
    ports = stack.ports
    children = [p.pid for pid in pids.values() for p in psutil.Process(pid).children(recursive=True)]

    DevStack(root).down()  # a fresh handle finds the recorded processes through the state file

    for pid in [*pids.values(), *children]:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    for port in (ports.postgres, ports.kafka, ports.redis):
        assert not port_open(port), f"port {port} still listening"
    assert DevStack(root).status()["postgres"]["healthy"] is False


def test_up_refuses_a_port_taken_by_someone_else(devstack: DevStack) -> None:
    root = Path(tempfile.mkdtemp(prefix="aegis-clash-test-"))
    clash = DevStack(
        root, Ports(postgres=Ports.free().postgres, kafka=devstack.ports.kafka, redis=Ports.free().redis)
    )
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
