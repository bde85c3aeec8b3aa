"""Keep one serving store in step with PostgreSQL, and measure how far it has drifted.

Sync is a reconciliation by content hash: it compares what the store holds with what PostgreSQL
says it should hold, writes only missing and stale policies, and deletes orphans (policies that
became rejected or archived, or were never ours). The same comparison, without writing, is the
consistency check, so "check passes" and "sync has nothing to do" mean the same thing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from aegis_orchestration.pipeline.serving import load_documents, record_sync_state, serving_fingerprints
from aegis_shared.errors import AegisError, PipelineError
from aegis_shared.stores.base import PolicyStore

SYNC_ERROR_CODES = {"vectors": "DP_3001", "graph": "DP_3002", "search": "DP_3003"}
# Rows read from Postgres per store call; adapters batch further inside (graph 1,000 per UNWIND).
BATCH_SIZE = 5_000


@dataclass(frozen=True)
class Drift:
    missing: tuple[str, ...]
    stale: tuple[str, ...]
    orphaned: tuple[str, ...]
    expected: int
    stored: int

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.orphaned)

    def summary(self, sample: int = 20) -> dict[str, object]:
        return {
            "expected": self.expected,
            "stored": self.stored,
            "missing": len(self.missing),
            "stale": len(self.stale),
            "orphaned": len(self.orphaned),
            "missing_ids": list(self.missing[:sample]),
            "stale_ids": list(self.stale[:sample]),
            "orphaned_ids": list(self.orphaned[:sample]),
        }


def compare(expected: dict[str, str], stored: dict[str, str]) -> Drift:
    return Drift(
        missing=tuple(sorted(expected.keys() - stored.keys())),
        stale=tuple(sorted(pid for pid in expected.keys() & stored.keys() if expected[pid] != stored[pid])),
        orphaned=tuple(sorted(stored.keys() - expected.keys())),
        expected=len(expected),
        stored=len(stored),
    )


def _sync_error(store: PolicyStore, error: Exception, action: str) -> PipelineError:
    cause = error.code if isinstance(error, AegisError) else type(error).__name__
    return PipelineError(
        SYNC_ERROR_CODES.get(store.name, "DP_3004"),
        f"{store.name} store ({store.backend}) failed during {action}: {error}",
        details={"store": store.name, "backend": store.backend, "cause": cause},
    )


def measure_drift(engine: sa.Engine, store: PolicyStore) -> Drift:
    try:
        stored = store.fingerprints()
    except Exception as error:
        raise _sync_error(store, error, "fingerprinting") from error
    return compare(serving_fingerprints(engine), stored)


@dataclass
class SyncReport:
    store: str
    backend: str
    upserted: int = 0
    deleted: int = 0
    unchanged: int = 0
    total: int = 0
    duration_ms: float = 0.0
    repaired: dict[str, list[str]] = field(default_factory=dict)

    def event_data(self) -> dict[str, object]:
        return {
            "store": self.store,
            "upserted": self.upserted,
            "deleted": self.deleted,
            "total": self.total,
            "duration_ms": round(self.duration_ms, 1),
        }


def sync_store(engine: sa.Engine, store: PolicyStore, *, batch_size: int = BATCH_SIZE) -> SyncReport:
    """Reconcile ``store`` with PostgreSQL; raises DP_300x if the store fails (Postgres untouched)."""
    started = time.perf_counter()
    report = SyncReport(store=store.name, backend=store.backend)
    try:
        store.ensure_schema()
    except Exception as error:
        raise _sync_error(store, error, "schema set-up") from error
    drift = measure_drift(engine, store)
    to_write = [*drift.missing, *drift.stale]
    try:
        for chunk in _chunks(to_write, batch_size):
            docs = load_documents(engine, chunk)
            report.upserted += store.upsert(docs)
            record_sync_state(engine, store.name, {d.policy_id: d.content_hash for d in docs}, ())
        for chunk in _chunks(list(drift.orphaned), batch_size):
            store.delete(chunk)
            report.deleted += len(chunk)
            record_sync_state(engine, store.name, {}, chunk)
    except Exception as error:
        raise _sync_error(store, error, "sync") from error
    report.unchanged = drift.expected - len(to_write)
    report.total = drift.expected
    report.repaired = {
        "missing": list(drift.missing),
        "stale": list(drift.stale),
        "orphaned": list(drift.orphaned),
    }
    report.duration_ms = (time.perf_counter() - started) * 1000
    return report


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
