"""Embedded graph adapter: FalkorDB over its Redis protocol (the ``falkordb`` client).

FalkorDB's Bolt port is unsafe here (docs/platform.md §1), so the Redis protocol is used. FalkorDB has
no constraints and no ``IF NOT EXISTS``; indexes are created plainly and "already indexed" is
treated as success.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from falkordb import FalkorDB
from falkordb.helpers import stringify_param_value
from redis.exceptions import ResponseError

from aegis_shared.config import Settings
from aegis_shared.stores.cypher_graph import NODE_KEYS, CypherGraphStore, Prepared
from aegis_shared.stores.failures import backend_errors


class FalkorDBGraphStore(CypherGraphStore):
    """Graph store on FalkorDB at ``settings.graph_url``, graph ``settings.graph_name``."""

    backend = "falkordb"

    def __init__(
        self,
        url: str,
        graph_name: str,
        *,
        socket_timeout: float = 30.0,
        industry_keywords: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._use_keywords(industry_keywords)
        # The client probes the server (sentinel/cluster detection) while connecting, so an
        # unreachable server already fails here, with the graph store's code.
        with backend_errors(self.name, self.backend, "connect"):
            self._db = FalkorDB.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=5.0)
            self._graph = self._db.select_graph(graph_name)
        self.graph_name = graph_name

    @classmethod
    def from_settings(cls, settings: Settings) -> FalkorDBGraphStore:
        return cls(settings.graph_url.get_secret_value(), settings.graph_name)

    @property
    def raw(self) -> Any:
        """The ``falkordb.Graph`` handle (``raw.query(cypher, params)``)."""
        return self._graph

    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        rows: list[list[Any]] = self._graph.query(cypher, params).result_set
        return rows

    def _prepare(self, cypher: str, params: dict[str, Any]) -> Prepared:
        # The client would encode the parameters into the query text inside ``query``; doing it
        # here lets ``upsert`` build the next batch while the server runs the current one.
        encoded = "".join(f"`{name}`={stringify_param_value(value)} " for name, value in params.items())
        return f"CYPHER {encoded}{cypher}", None

    def _create_schema(self) -> None:
        for label, prop in NODE_KEYS:
            try:
                self._graph.query(f"CREATE INDEX FOR (n:{label}) ON (n.{prop})")
            except ResponseError as exc:
                if "already indexed" not in str(exc):
                    raise

    def _ping(self) -> None:
        self._db.connection.ping()

    def _close(self) -> None:
        self._db.connection.close()

    def drop(self) -> None:
        """Delete the whole graph (tests and rebuilds)."""
        try:
            self._graph.delete()
        except ResponseError as exc:
            if "empty key" not in str(exc):
                raise
