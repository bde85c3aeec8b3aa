"""Keep one serving store in step with PostgreSQL, and measure how far it has drifted.

Sync is a reconciliation by fingerprint: it compares what the store holds with what PostgreSQL
says it should hold, writes only missing and stale policies, and deletes orphans (policies that
became rejected or archived, or were never ours). The same comparison, without writing, is the
consistency check, so "check passes" and "sync has nothing to do" mean the same thing.

A fingerprint is the policy's content hash bound to the store's ``derivation`` (embedding model,
industry keyword map, search mapping version), so a change in how a store derives its documents
is drift too: the check names every policy stale and the next sync rewrites them.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import sqlalchemy as sa

from aegis_orchestration.pipeline.serving import iter_documents, record_sync_state, serving_fingerprints
from aegis_shared.errors import AegisError, PipelineError
from aegis_shared.stores.base import PolicyStore
from aegis_shared.stores.batching import chunks

T = TypeVar("T")

SYNC_ERROR_CODES = {"vectors": "DP_3001", "graph": "DP_3002", "search": "DP_3003"}


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
        derivation = store.derivation
        stored = store.fingerprints()
    except Exception as error:
        raise _sync_error(store, error, "fingerprinting") from error
    return compare(serving_fingerprints(engine, derivation), stored)


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
    sync_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def event_data(self) -> dict[str, object]:
        """``DataSyncCompleted`` 2.0 data: seed 003 §8.2's fields plus the 1.0 counters.

        A sync either writes every record or fails as a whole (DP_300x), so nothing is partly
        failed here: ``recordsFailed`` is 0 and ``failedRecords`` empty.
        """
        written = self.upserted + self.deleted
        return {
            "syncJobId": self.sync_id,
            "syncType": _SYNC_TYPES.get(self.store, f"policy_{self.store}_sync"),
            "sourceSystem": "postgresql",
            "targetSystem": self.backend,
            "recordsProcessed": written,
            "recordsSucceeded": written,
            "recordsFailed": 0,
            "processingTimeMs": round(self.duration_ms, 1),
            "failedRecords": [],
            "store": self.store,
            "upserted": self.upserted,
            "deleted": self.deleted,
            "total": self.total,
            "duration_ms": round(self.duration_ms, 1),
        }


# Seed 003 §8.2 names the vector sync "policy_vectorization"; the other stores follow suit.
_SYNC_TYPES = {
    "vectors": "policy_vectorization",
    "graph": "policy_graph_sync",
    "search": "policy_search_indexing",
}


def sync_store(engine: sa.Engine, store: PolicyStore, *, batch_size: int | None = None) -> SyncReport:
    """Reconcile ``store`` with PostgreSQL; raises DP_300x if the store fails (Postgres untouched).

    ``batch_size`` (documents per store call, per sync-state write) defaults to the store's own
    ``write_batch_size``.
    """
    started = time.perf_counter()
    batch_size = batch_size or store.write_batch_size
    report = SyncReport(store=store.name, backend=store.backend)
    try:
        store.ensure_schema()
    except Exception as error:
        raise _sync_error(store, error, "schema set-up") from error
    drift = measure_drift(engine, store)
    to_write = {*drift.missing, *drift.stale}
    try:
        with _heap_frozen():
            report.upserted = _write(engine, store, to_write, drift.expected, batch_size)
        for chunk in chunks(list(drift.orphaned), batch_size):
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


def _write(engine: sa.Engine, store: PolicyStore, ids: set[str], serving_total: int, batch_size: int) -> int:
    """Write ``ids`` to the store, reading ahead and recording sync state behind the store writes.

    Three stages overlap: a reader thread streams the next batch of documents from Postgres, this
    thread writes the current one to the store, and a writer thread records the previous batch's
    sync state. The store is the bottleneck, and it mostly waits on its server, so the Postgres
    work costs little wall-clock time. A batch's state is recorded only after the store accepted
    it, and every state write finishes (or fails) before this returns or raises.
    """
    if not ids:
        return 0
    written = 0
    batches = iter_documents(
        engine, ids, store.derivation, batch_size=batch_size, serving_total=serving_total
    )
    with _ReadAhead(batches) as docs_batches, ThreadPoolExecutor(1, "store-sync-state") as state_writer:
        recording: Future[None] | None = None
        for docs in docs_batches:
            written += store.upsert(docs)
            if recording is not None:
                recording.result()  # one state write in flight at most; its error surfaces here
            # The fingerprint each document was written with (content hash + derivation).
            synced = {doc.policy_id: doc.content_hash for doc in docs}
            recording = state_writer.submit(record_sync_state, engine, store.name, synced, ())
        if recording is not None:
            recording.result()
    return written


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the garbage collector off the objects that existed before the sync, while it runs.

    A sync allocates tens of thousands of short-lived documents and rows, which triggers full
    collections; each one walks every object of the process (a Dagster step holds several hundred
    thousand), and on the benchmark's 10k policies that cost a third of the sync. Frozen objects
    are only skipped, never lost: ``unfreeze`` hands them back to the oldest generation, and
    garbage made during the sync is collected as usual.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _ReadAhead(Generic[T]):
    """Iterate ``source`` in a worker thread, one item ahead of the consumer.

    Leaving the ``with`` block (normally or by an exception) stops the worker and closes the
    source in it, so a server-side cursor is released before the sync returns.
    """

    def __init__(self, source: Iterator[T], depth: int = 1) -> None:
        self._source = source
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-sync-read", daemon=True)

    def __enter__(self) -> Iterator[T]:
        self._thread.start()
        return self._items()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            with closing(self._source):  # type: ignore[type-var]
                for item in self._source:
                    if not self._put(("item", item)):
                        return
            self._put(("done", None))
        except BaseException as error:  # handed to the consumer, which raises it
            self._put(("error", error))

    def _put(self, entry: tuple[str, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _items(self) -> Iterator[T]:
        while True:
            kind, value = self._queue.get()
            if kind == "done":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
