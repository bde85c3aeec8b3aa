"""The graph store's logic, shared by the FalkorDB and Neo4j adapters.

All Cypher lives here, written in the subset both engines accept (DESIGN §5): parameterised
``UNWIND $rows`` batches of 1,000, ``MERGE`` for shared nodes, no map-valued properties, no
``datetime()``, no ``EXISTS {}``, no ``elementId()``. Each adapter only supplies how to run one
statement and how to create its indexes, so CI (FalkorDB) exercises the production Cypher.

Model: ``(:Policy {policy_id, content_hash, title, summary, status, url, period_start,
period_end})`` with ``ISSUED_BY``/``EXECUTED_BY`` → ``Organization{name}``, ``AVAILABLE_IN`` →
``Region{code}``, ``FOR_INDUSTRY`` → ``Industry{name}``, ``IN_CATEGORY`` → ``Category{name}``,
``TARGETS`` → ``TargetGroup{name}``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from aegis_shared.stores.base import PolicyDocument, unique_by_id, validate_ids
from aegis_shared.stores.batching import chunks
from aegis_shared.stores.failures import backend_errors

BATCH_SIZE = 1_000
FINGERPRINT_PAGE = 10_000

# (label, key property) of every node kind; each gets an index (FalkorDB) or a uniqueness
# constraint (Neo4j) so MERGE is an index seek, not a label scan.
NODE_KEYS: tuple[tuple[str, str], ...] = (
    ("Policy", "policy_id"),
    ("Organization", "name"),
    ("Region", "code"),
    ("Industry", "name"),
    ("Category", "name"),
    ("TargetGroup", "name"),
)

# (relationship, row key holding the list of target keys, target label, target key property)
RELATIONSHIPS: tuple[tuple[str, str, str, str], ...] = (
    ("ISSUED_BY", "issued_by", "Organization", "name"),
    ("EXECUTED_BY", "executed_by", "Organization", "name"),
    ("AVAILABLE_IN", "regions", "Region", "code"),
    ("FOR_INDUSTRY", "industries", "Industry", "name"),
    ("IN_CATEGORY", "categories", "Category", "name"),
    ("TARGETS", "target_groups", "TargetGroup", "name"),
)

# Replacing a policy: its outgoing edges are deleted first, in the same statement, so a changed
# policy never keeps a stale region or organisation. Edges are then CREATEd (not MERGEd): they
# were just removed and the row lists are de-duplicated, so CREATE is both correct and faster.
UPSERT_CYPHER = (
    "UNWIND $rows AS row\n"
    "MERGE (p:Policy {policy_id: row.policy_id})\n"
    "SET p.content_hash = row.content_hash, p.title = row.title, p.summary = row.summary,\n"
    "    p.status = row.status, p.url = row.url,\n"
    "    p.period_start = row.period_start, p.period_end = row.period_end\n"
    "WITH p, row\n"
    "OPTIONAL MATCH (p)-[old]->()\n"
    "DELETE old\n"
    "WITH DISTINCT p, row\n"
    + "".join(
        f"FOREACH (key IN row.{row_key} | MERGE (n:{label} {{{prop}: key}}) CREATE (p)-[:{rel}]->(n))\n"
        for rel, row_key, label, prop in RELATIONSHIPS
    )
    + "RETURN count(p)"
)

DELETE_CYPHER = (
    "UNWIND $ids AS id\n"
    "MATCH (p:Policy {policy_id: id})\n"
    "DETACH DELETE p\n"
    "RETURN count(*)"
)

# Keyset pagination over the policy_id index: stable and O(page) per call, unlike SKIP/LIMIT.
FINGERPRINT_CYPHER = (
    "MATCH (p:Policy) WHERE p.policy_id > $after\n"
    "RETURN p.policy_id, p.content_hash\n"
    "ORDER BY p.policy_id LIMIT $limit"
)

COUNT_CYPHER = "MATCH (p:Policy) RETURN count(p)"

RELATED_CYPHER = (
    "MATCH (p:Policy {policy_id: $id})\n"
    "OPTIONAL MATCH (p)-[r]->(n)\n"
    "RETURN p.policy_id, p.content_hash, p.title, p.summary, p.status, p.url,\n"
    "       p.period_start, p.period_end, type(r), coalesce(n.name, n.code)"
)

SIMILAR_CYPHER = (
    "MATCH (p:Policy {policy_id: $id})-->(n)<--(q:Policy)\n"
    "WHERE q.policy_id <> $id\n"
    "RETURN q.policy_id, count(DISTINCT n) AS shared\n"
    "ORDER BY shared DESC, q.policy_id LIMIT $k"
)

_POLICY_KEYS = (
    "policy_id", "content_hash", "title", "summary", "status", "url", "period_start", "period_end",
)
_RELATED_KEYS = {rel: row_key for rel, row_key, _label, _prop in RELATIONSHIPS}


def graph_row(doc: PolicyDocument) -> dict[str, Any]:
    """One ``$rows`` entry: scalars only (dates as ISO strings, which both engines store)."""
    return {
        "policy_id": doc.policy_id,
        "content_hash": doc.content_hash,
        "title": doc.title,
        "summary": doc.summary,
        "status": doc.status,
        "url": doc.url,
        "period_start": doc.period_start.isoformat() if doc.period_start else None,
        "period_end": doc.period_end.isoformat() if doc.period_end else None,
        "issued_by": [doc.organization] if doc.organization else [],
        "executed_by": [doc.executing_organization] if doc.executing_organization else [],
        "regions": list(doc.region_codes),
        "industries": list(doc.industries),
        "categories": [doc.category] if doc.category else [],
        "target_groups": list(doc.target_groups),
    }


class CypherGraphStore(ABC):
    """The graph store over any engine that runs parameterised Cypher.

    Subclasses implement :meth:`_run` (one statement → rows as lists) and the schema DDL.
    """

    name = "graph"
    backend = "cypher"

    @abstractmethod
    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        """Execute one statement and return its rows (raw backend errors allowed)."""

    @abstractmethod
    def _create_schema(self) -> None:
        """Create indexes/constraints for :data:`NODE_KEYS`, tolerating existing ones."""

    @abstractmethod
    def _ping(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    def _call(self, operation: str, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        with backend_errors(self.name, self.backend, operation):
            return self._run(cypher, params)

    def ensure_schema(self) -> None:
        with backend_errors(self.name, self.backend, "ensure_schema"):
            self._create_schema()

    def upsert(self, docs: Sequence[PolicyDocument]) -> int:
        unique = unique_by_id(docs)
        for batch in chunks(unique, BATCH_SIZE):
            self._call("upsert", UPSERT_CYPHER, {"rows": [graph_row(doc) for doc in batch]})
        return len(unique)

    def delete(self, policy_ids: Sequence[str]) -> int:
        ids = validate_ids(policy_ids)
        removed = 0
        for batch in chunks(ids, BATCH_SIZE):
            rows = self._call("delete", DELETE_CYPHER, {"ids": list(batch)})
            removed += int(rows[0][0]) if rows else 0
        return removed

    def fingerprints(self) -> dict[str, str]:
        result: dict[str, str] = {}
        after = ""
        while True:
            rows = self._call("fingerprints", FINGERPRINT_CYPHER, {"after": after, "limit": FINGERPRINT_PAGE})
            for policy_id, content_hash in rows:
                result[policy_id] = content_hash
            if len(rows) < FINGERPRINT_PAGE:
                return result
            after = rows[-1][0]

    def count(self) -> int:
        rows = self._call("count", COUNT_CYPHER)
        return int(rows[0][0]) if rows else 0

    def related(self, policy_id: str) -> dict[str, Any] | None:
        """``{"policy": {...}, "issued_by": [...], "regions": [...], ...}`` or None if absent."""
        validate_ids([policy_id])
        rows = self._call("related", RELATED_CYPHER, {"id": policy_id})
        if not rows:
            return None
        first = rows[0]
        result: dict[str, Any] = {"policy": dict(zip(_POLICY_KEYS, first[:8], strict=True))}
        result.update({row_key: [] for row_key in _RELATED_KEYS.values()})
        for row in rows:
            rel, key = row[8], row[9]
            if rel is not None and rel in _RELATED_KEYS:
                result[_RELATED_KEYS[rel]].append(key)
        for row_key in _RELATED_KEYS.values():
            result[row_key].sort()
        return result

    def similar(self, policy_id: str, k: int = 10) -> list[tuple[str, int]]:
        validate_ids([policy_id])
        rows = self._call("similar", SIMILAR_CYPHER, {"id": policy_id, "k": int(k)})
        return [(str(other), int(shared)) for other, shared in rows]

    def ping(self) -> None:
        with backend_errors(self.name, self.backend, "ping"):
            self._ping()

    def close(self) -> None:
        with backend_errors(self.name, self.backend, "close"):
            self._close()
