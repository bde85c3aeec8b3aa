"""Production graph adapter: Neo4j through the official ``neo4j`` driver.

Runs the same Cypher as the FalkorDB adapter (see :mod:`cypher_graph`); only the schema DDL
differs: Neo4j gets named uniqueness constraints with ``IF NOT EXISTS``, which FalkorDB lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neo4j import GraphDatabase, RoutingControl

from aegis_shared.config import Settings
from aegis_shared.stores.cypher_graph import NODE_KEYS, CypherGraphStore
from aegis_shared.stores.failures import backend_errors


class Neo4jGraphStore(CypherGraphStore):
    """Graph store on Neo4j (``settings.neo4j_uri/user/password/database``)."""

    backend = "neo4j"

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        database: str,
        *,
        industry_keywords: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._use_keywords(industry_keywords)
        # Notifications off: the first fingerprint scan on an empty database would log a warning
        # that the content_hash property does not exist yet.
        self._driver = GraphDatabase.driver(
            uri, auth=(user, password), connection_timeout=5.0, notifications_min_severity="OFF"
        )
        self._database = database

    @classmethod
    def from_settings(cls, settings: Settings) -> Neo4jGraphStore:
        if not settings.neo4j_uri:
            from aegis_shared.errors import SystemError_

            raise SystemError_("SYS_7003", "AEGIS_NEO4J_URI is not set")
        return cls(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password.get_secret_value(),
            settings.neo4j_database,
        )

    @property
    def raw(self) -> Any:
        """The ``neo4j.Driver``."""
        return self._driver

    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        result = self._driver.execute_query(
            cypher, parameters_=params or {}, database_=self._database, routing_=RoutingControl.WRITE
        )
        return [list(record.values()) for record in result.records]

    def _create_schema(self) -> None:
        for label, prop in NODE_KEYS:
            self._run(
                f"CREATE CONSTRAINT aegis_{label.lower()}_{prop} IF NOT EXISTS "
                f"FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"
            )

    def _ping(self) -> None:
        self._driver.verify_connectivity()

    def _close(self) -> None:
        self._driver.close()

    def drop(self) -> None:
        """Delete every node and relationship of the database (tests and rebuilds).

        Neo4j Community has one user database, so unlike FalkorDB's named graphs this empties the
        whole database: point it at a database that holds only the policy graph.
        """
        # CALL … IN TRANSACTIONS needs an auto-commit transaction, i.e. session.run.
        with (
            backend_errors(self.name, self.backend, "drop"),
            self._driver.session(database=self._database) as session,
        ):
            session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
