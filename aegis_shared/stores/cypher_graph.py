"""The graph store's logic, shared by the FalkorDB and Neo4j adapters.

All Cypher lives here, written in the subset both engines accept (docs/platform.md §1): parameterised
``UNWIND $rows`` batches of 1,000, ``MERGE`` for shared nodes, no map-valued properties, no
``datetime()``, no ``EXISTS {}``, no ``elementId()``. Each adapter only supplies how to run one
statement and how to create its indexes, so CI (FalkorDB) exercises the production Cypher.

Model: ``(:Policy {policy_id, content_hash, title, summary, status, url, period_start,
period_end})`` with ``ISSUED_BY``/``EXECUTED_BY`` → ``Organization{name}``, ``AVAILABLE_IN`` →
``Region{code}``, ``FOR_INDUSTRY`` → ``Industry{name}``, ``IN_CATEGORY`` → ``Category{name}``,
``TARGETS`` → ``TargetGroup{name}``.

Industries are derived here: a document's explicit ``industries`` plus those the store's keyword
map (:mod:`industries`) finds in its title and summary. The map's digest is part of the store's
``derivation``, so a new map marks every policy stale and the next sync rewrites its edges.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from aegis_shared.stores.base import PolicyDocument, unique_by_id, validate_ids
from aegis_shared.stores.batching import chunks
from aegis_shared.stores.failures import backend_errors
from aegis_shared.stores.industries import DEFAULT_CLASSIFIER, IndustryClassifier

BATCH_SIZE = 1_000
# Documents per sync call: several statement batches, so the pipeline in ``upsert`` has work.
WRITE_BATCH_SIZE = 5_000
# Bump when the graph model (labels, relationships, properties) changes: every policy goes stale.
GRAPH_MODEL_VERSION = 1
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

# A policy not yet in the graph needs no MERGE and no edge removal: CREATE it like a bulk load.
# The guard keeps it atomic even so: a row whose policy appeared since PRESENT_CYPHER looked is
# skipped (never duplicated), and the count tells the caller to replace those instead.
INSERT_CYPHER = (
    "UNWIND $rows AS row\n"
    "OPTIONAL MATCH (existing:Policy {policy_id: row.policy_id})\n"
    "WITH row WHERE existing IS NULL\n"
    "CREATE (p:Policy {policy_id: row.policy_id, content_hash: row.content_hash, title: row.title,\n"
    "    summary: row.summary, status: row.status, url: row.url,\n"
    "    period_start: row.period_start, period_end: row.period_end})\n"
    + "".join(
        f"FOREACH (key IN row.{row_key} | MERGE (n:{label} {{{prop}: key}}) CREATE (p)-[:{rel}]->(n))\n"
        for rel, row_key, label, prop in RELATIONSHIPS
    )
    + "RETURN count(p)"
)

PRESENT_CYPHER = "UNWIND $ids AS id\nMATCH (p:Policy {policy_id: id})\nRETURN p.policy_id"

DELETE_CYPHER = "UNWIND $ids AS id\nMATCH (p:Policy {policy_id: id})\nDETACH DELETE p\nRETURN count(*)"

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

# A statement and its parameters, as :meth:`CypherGraphStore._prepare` returns them.
Prepared = tuple[str, dict[str, Any] | None]

_POLICY_KEYS = (
    "policy_id",
    "content_hash",
    "title",
    "summary",
    "status",
    "url",
    "period_start",
    "period_end",
)
_RELATED_KEYS = {rel: row_key for rel, row_key, _label, _prop in RELATIONSHIPS}


def graph_row(doc: PolicyDocument, classify: IndustryClassifier = DEFAULT_CLASSIFIER) -> dict[str, Any]:
    """One ``$rows`` entry: scalars only (dates as ISO strings, which both engines store)."""
    derived = classify(doc.title, doc.summary)
    industries = list(dict.fromkeys((*doc.industries, *derived))) if doc.industries else list(derived)
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
        "industries": industries,
        "categories": [doc.category] if doc.category else [],
        "target_groups": list(doc.target_groups),
    }


class CypherGraphStore(ABC):
    """The graph store over any engine that runs parameterised Cypher.

    Subclasses implement :meth:`_run` (one statement → rows as lists) and the schema DDL.
    """

    name = "graph"
    backend = "cypher"
    write_batch_size = WRITE_BATCH_SIZE
    # Instances given another keyword map replace this (see the adapters' ``industry_keywords``).
    classifier: IndustryClassifier = DEFAULT_CLASSIFIER

    def _use_keywords(self, industry_keywords: Mapping[str, Sequence[str]] | None) -> None:
        if industry_keywords is not None:
            self.classifier = IndustryClassifier(industry_keywords)

    @property
    def derivation(self) -> str:
        return f"graph-model/{GRAPH_MODEL_VERSION};industries/{self.classifier.digest}"

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
        """New policies are created (bulk-load speed), present ones replaced with their edges.

        Batches are pipelined: while one batch runs on the server, the next one's rows and
        encoded statement are built here, so client CPU and server time overlap. At most one
        batch is in flight, and a failed batch raises before any later batch is sent.
        """
        unique = unique_by_id(docs)
        classify = self.classifier
        with ThreadPoolExecutor(1, thread_name_prefix="graph-write") as sender:
            in_flight: Future[None] | None = None
            for batch in chunks(unique, BATCH_SIZE):
                rows = [graph_row(doc, classify) for doc in batch]
                # Built speculatively for the common case (nothing present yet: a first sync,
                # missing policies); a batch with present policies re-encodes its parts.
                insert_all = self._prepare(INSERT_CYPHER, {"rows": rows})
                if in_flight is not None:
                    in_flight.result()
                in_flight = sender.submit(self._write_batch, rows, insert_all)
            if in_flight is not None:
                in_flight.result()
        return len(unique)

    def _write_batch(self, rows: list[dict[str, Any]], insert_all: Prepared) -> None:
        found = self._call("upsert", PRESENT_CYPHER, {"ids": [row["policy_id"] for row in rows]})
        present = {policy_id for (policy_id,) in found}
        fresh = [row for row in rows if row["policy_id"] not in present] if present else rows
        replace = [row for row in rows if row["policy_id"] in present] if present else []
        if fresh:
            statement = insert_all if not present else self._prepare(INSERT_CYPHER, {"rows": fresh})
            created = self._call("upsert", *statement)
            if not created or int(created[0][0]) != len(fresh):
                replace.extend(fresh)  # another writer got there first: replacing is idempotent
        if replace:
            self._call("upsert", UPSERT_CYPHER, {"rows": replace})

    def _prepare(self, cypher: str, params: dict[str, Any]) -> Prepared:
        """``(statement, params)`` ready for :meth:`_run`; adapters may encode parameters here."""
        return cypher, params

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

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        """Run one parameterised Cypher statement on either engine and return its rows.

        For inspection and repair tools; keep to the subset both engines accept (module docstring).
        """
        return self._call("query", cypher, params)

    def ping(self) -> None:
        with backend_errors(self.name, self.backend, "ping"):
            self._ping()

    def close(self) -> None:
        with backend_errors(self.name, self.backend, "close"):
            self._close()
