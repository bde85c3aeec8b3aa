"""Session fixtures: one real local stack per test session.

PostgreSQL, Apache Kafka, Neo4j, OpenSearch, a Milvus server and redis-server with FalkorDB run
on free loopback ports in their own temporary root, so two sessions can share a machine, and
are stopped at the end of the session.

The session's ``AEGIS_*`` environment keeps the graph and search defaults on FalkorDB and
tantivy: whole-graph tests give every test its own graph name and index directory, and Neo4j
Community has one database only. The production adapters (Neo4j, OpenSearch, the Milvus server)
run the store contract tests against this stack's servers through the fixtures below.

Every test whose fixtures reach ``devstack`` is marked ``stack`` at collection, so
``pytest -m "not stack"`` (``make test-fast``) runs the others without starting any server. A
fixture that asks for a stack fixture by name at run time (``request.getfixturevalue``) is not
visible at collection: mark such tests or parameters ``stack`` by hand. ``make test-fast`` sets
``AEGIS_TEST_STACK=off`` so that a test which still reaches the stack fails and says so, instead
of quietly starting the servers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from aegis_orchestration.devstack import DevStack, Ports
from aegis_shared.config import Settings, get_settings

STACK_MARK = "stack"
STACK_SWITCH = "AEGIS_TEST_STACK"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        # fixturenames is the whole closure: a fixture that needs pg_url needs devstack too.
        if "devstack" in getattr(item, "fixturenames", ()):
            item.add_marker(STACK_MARK)


@pytest.fixture(scope="session")
def devstack() -> Iterator[DevStack]:
    if os.environ.get(STACK_SWITCH) == "off":
        pytest.fail(
            f"this test reaches the local stack but is not marked {STACK_MARK!r} "
            f"({STACK_SWITCH}=off): mark it, or the parameter that looks the stack up, "
            f"with pytest.mark.{STACK_MARK}",
            pytrace=False,
        )
    root = Path(tempfile.mkdtemp(prefix="aegis-test-stack-"))
    stack = DevStack(root, Ports.free(), milvus_server=True).up()
    env = stack.env(embedded_stores=True)
    saved = {key: os.environ.get(key) for key in (*env, "AEGIS_NEO4J_URI", "AEGIS_OPENSEARCH_URL")}
    for key in ("AEGIS_NEO4J_URI", "AEGIS_OPENSEARCH_URL"):
        os.environ.pop(key, None)
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield stack
    finally:
        stack.down()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(devstack: DevStack) -> Settings:
    return devstack.settings()


@pytest.fixture(scope="session")
def pg_url(devstack: DevStack) -> str:
    return devstack.postgres.url("aegis")


TEMPLATE_DB = "aegis_template"
"""A database migrated once per session; tests copy it (CREATE DATABASE … TEMPLATE) instead of
migrating their own, as resources expect an already migrated database."""


@pytest.fixture(scope="session")
def migrated_template(devstack: DevStack) -> str:
    """Create and migrate ``aegis_template`` once; no connection to it stays open, so it can be copied."""
    import psycopg
    from psycopg import sql

    from aegis_shared.database import apply_registry

    with psycopg.connect(devstack.postgres.url("postgres", driver="postgresql"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DB)))
    engine = sa.create_engine(devstack.postgres.url(TEMPLATE_DB), poolclass=sa.pool.NullPool)
    try:
        apply_registry(engine, actor="test session")
    finally:
        engine.dispose()
    return TEMPLATE_DB


def create_migrated_database(devstack: DevStack, name: str) -> str:
    """A new database copied from the migrated template; returns its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(devstack.postgres.url("postgres", driver="postgresql"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE_DB)
            )
        )
    return devstack.postgres.url(name)


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_url, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def kafka_bootstrap(devstack: DevStack) -> str:
    return devstack.broker.bootstrap


@pytest.fixture(scope="session")
def redis_url(devstack: DevStack) -> str:
    return f"{devstack.graph.url}/0"


@pytest.fixture(scope="session")
def neo4j_uri(devstack: DevStack) -> str:
    """Bolt URI of the session's Neo4j Community server (no auth)."""
    return devstack.neo4j.uri


@pytest.fixture(scope="session")
def opensearch_url(devstack: DevStack) -> str:
    return devstack.opensearch.url


@pytest.fixture(scope="session")
def milvus_server_uri(devstack: DevStack) -> str:
    return devstack.milvus.uri


@pytest.fixture(scope="session")
def make_resources(
    devstack: DevStack, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., dict[str, object]]:
    """A factory of Dagster resources on a fresh database and fresh store namespaces.

    Whole-graph tests assert exact counts, so each gets its own database (a copy of the migrated
    template), Milvus Lite file, tantivy directory and graph name on the session's servers.
    """
    from aegis_orchestration.resources import (
        GraphStoreResource,
        PostgresResource,
        SearchStoreResource,
        VectorStoreResource,
        default_resources,
    )

    def make(**overrides: object) -> dict[str, object]:
        name = f"t_{uuid.uuid4().hex[:10]}"
        url = create_migrated_database(devstack, name)
        root = tmp_path_factory.mktemp(name)
        resources = default_resources()
        resources.update(
            postgres=PostgresResource(url=url),
            vectors=VectorStoreResource(uri=str(root / "milvus.db")),
            graph=GraphStoreResource(graph_name=name),
            search=SearchStoreResource(path=str(root / "search")),
        )
        resources.update(overrides)
        return resources

    return make
