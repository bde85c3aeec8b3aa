"""What the serving stores must hold, read from PostgreSQL, and what each store last synced.

Every store keeps, per policy, :func:`store_fingerprint` of the policy's content hash and the
store's ``derivation``; the expected fingerprints and the documents handed to a store are
computed here with the same function, so a changed derivation shows as drift.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import date

import sqlalchemy as sa

from aegis_orchestration.pipeline import lifecycle, tables
from aegis_shared.config import get_settings
from aegis_shared.stores.base import PolicyDocument, store_fingerprint

# The serving set: what every store must hold (and nothing else), by the lifecycle rule: an
# active row whose period has ended since it was scored is not served even before expiry runs.
_SERVING = lifecycle.SERVABLE_SQL


def _today() -> dict[str, date]:
    return {"today": lifecycle.as_of(get_settings())}


# In PolicyDocument.from_row's parameter order; checked against the registry's table at import.
# These reads stay SQL text: the server-side cursor below takes the driver's own SQL.
_DOCUMENT_COLUMNS = tables.cols(
    tables.policies,
    (
        "id",
        "content_hash",
        "title",
        "summary",
        "organization",
        "executing_organization",
        "category",
        "region_codes",
        "target_groups",
        "url",
        "period_start",
        "period_end",
        "status",
    ),
)
# Above this share of the serving set, one streamed scan with a set filter beats looking ids up:
# sending a long id array costs more per id than reading a row it does not need.
_SCAN_SHARE = 0.5
# Joins ids and hashes into one text parameter per column for the sync-state write; sending two
# long arrays costs more on the client than the whole insert does on the server.
_SEPARATOR = "\x1f"


def serving_fingerprints(engine: sa.Engine, derivation: str) -> dict[str, str]:
    """policy id -> fingerprint, under ``derivation``, of every policy the serving stores must hold."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT id, content_hash FROM policies WHERE {_SERVING}"), _today())  # nosec B608 # the servable filter is a module constant; :today is bound
        return {policy_id: store_fingerprint(content_hash, derivation) for policy_id, content_hash in rows}


def iter_documents(
    engine: sa.Engine,
    ids: Collection[str],
    derivation: str,
    *,
    batch_size: int,
    serving_total: int | None = None,
) -> Iterator[list[PolicyDocument]]:
    """Documents for ``ids`` that are still serving, in batches, each carrying its fingerprint.

    A policy that left the active set since the drift was measured is not returned (and so is
    not written). With ``serving_total`` (the size of the serving set) a sync that touches most
    of it streams the whole set through a server-side cursor instead of sending the ids.
    """
    if not ids:
        return
    wanted = ids if isinstance(ids, set | frozenset) else set(ids)
    if serving_total is not None and len(wanted) >= _SCAN_SHARE * serving_total:
        yield from _scan(engine, wanted, derivation, batch_size)
        return
    ordered = sorted(wanted)
    query = sa.text(f"SELECT {_DOCUMENT_COLUMNS} FROM policies WHERE id = ANY(:ids) AND {_SERVING}")  # nosec B608 # module constants only; ids and :today are bound
    for start in range(0, len(ordered), batch_size):
        with engine.connect() as conn:
            rows = conn.execute(query, {"ids": ordered[start : start + batch_size], **_today()}).all()
        if rows:
            yield [_document(row, derivation) for row in rows]


def _scan(
    engine: sa.Engine, wanted: Collection[str], derivation: str, batch_size: int
) -> Iterator[list[PolicyDocument]]:
    connection = engine.raw_connection()
    try:
        # A named (server-side) cursor: memory holds one batch, whatever the size of the set.
        cursor = connection.cursor(name="aegis_serving_scan")
        try:
            cursor.itersize = batch_size
            cursor.execute(
                f"SELECT {_DOCUMENT_COLUMNS} FROM policies WHERE {_SERVING.replace(':today', '%(today)s')}",  # nosec B608 # module constants only; today is a bound parameter
                _today(),
            )
            while rows := cursor.fetchmany(batch_size):
                docs = [_document(row, derivation) for row in rows if row[0] in wanted]
                if docs:
                    yield docs
        finally:
            cursor.close()
        connection.rollback()
    finally:
        connection.close()


def _document(row: Sequence[object], derivation: str) -> PolicyDocument:
    policy_id, content_hash, *rest = row
    return PolicyDocument.from_row(
        policy_id,  # type: ignore[arg-type]
        store_fingerprint(content_hash, derivation),  # type: ignore[arg-type]
        *rest,  # type: ignore[arg-type]
    )


def load_documents(engine: sa.Engine, ids: Sequence[str], derivation: str) -> list[PolicyDocument]:
    """Every still-serving document among ``ids`` (sorted by id), fingerprinted for ``derivation``."""
    docs = [doc for batch in iter_documents(engine, ids, derivation, batch_size=5_000) for doc in batch]
    return sorted(docs, key=lambda doc: doc.policy_id)


def record_sync_state(engine: sa.Engine, store: str, synced: dict[str, str], deleted: Sequence[str]) -> None:
    """Remember the fingerprint each policy was written with, and forget deleted ones."""
    with engine.begin() as conn:
        if synced:
            pids, hashes = _SEPARATOR.join(synced), _SEPARATOR.join(synced.values())
            if pids.count(_SEPARATOR) == hashes.count(_SEPARATOR) == len(synced) - 1:
                columns = (
                    "string_to_array(CAST(:pids AS text), E'\\x1f'), "
                    "string_to_array(CAST(:hashes AS text), E'\\x1f')"
                )
                params: dict[str, object] = {"store": store, "pids": pids, "hashes": hashes}
            else:  # an id holding the separator itself: send real arrays
                columns = "CAST(:pids AS text[]), CAST(:hashes AS text[])"
                params = {"store": store, "pids": list(synced), "hashes": list(synced.values())}
            conn.execute(
                # One statement per batch, however many rows.
                sa.text(
                    "INSERT INTO store_sync_state (store, policy_id, content_hash) "  # nosec B608 # columns is one of two fixed fragments; values are bound
                    f"SELECT :store, pid, hash FROM unnest({columns}) AS t(pid, hash) "
                    "ON CONFLICT (store, policy_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, "
                    "synced_at = now()"
                ),
                params,
            )
        if deleted:
            conn.execute(
                sa.text("DELETE FROM store_sync_state WHERE store = :store AND policy_id = ANY(:ids)"),
                {"store": store, "ids": list(deleted)},
            )
