"""The PolicyStore contract, run against every adapter through the same interface."""

from __future__ import annotations

from typing import Any

import pytest

from aegis_shared.errors import ValidationError
from aegis_shared.stores import PolicyStore

from .conftest import make_doc


def test_adapter_satisfies_the_protocol(store: Any) -> None:
    assert isinstance(store, PolicyStore)
    assert store.name in {"vectors", "graph", "search"}
    assert store.backend
    assert store.raw is not None
    store.ping()


def test_empty_store(store: Any) -> None:
    assert store.count() == 0
    assert store.fingerprints() == {}
    assert store.upsert([]) == 0
    assert store.delete([]) == 0


def test_upsert_then_count_and_fingerprints(store: Any) -> None:
    docs = [make_doc(f"p{i}", f"h{i}") for i in range(5)]
    assert store.upsert(docs) == 5
    assert store.count() == 5
    assert store.fingerprints() == {f"p{i}": f"h{i}" for i in range(5)}


def test_reupsert_is_idempotent(store: Any) -> None:
    docs = [make_doc(f"p{i}") for i in range(3)]
    store.upsert(docs)
    store.upsert(docs)
    assert store.count() == 3
    assert store.fingerprints() == {"p0": "h1", "p1": "h1", "p2": "h1"}


def test_changed_hash_replaces_the_document(store: Any) -> None:
    store.upsert([make_doc("p1", "old"), make_doc("p2", "old")])
    store.upsert([make_doc("p1", "new", title="소상공인 정책자금")])
    assert store.count() == 2
    assert store.fingerprints() == {"p1": "new", "p2": "old"}


def test_duplicate_ids_in_one_batch_last_wins(store: Any) -> None:
    written = store.upsert([make_doc("p1", "first"), make_doc("p1", "second")])
    assert written == 1
    assert store.fingerprints() == {"p1": "second"}


def test_delete_counts_only_present_ids(store: Any) -> None:
    store.upsert([make_doc(f"p{i}") for i in range(4)])
    assert store.delete(["p1", "p3", "missing"]) == 2
    assert store.count() == 2
    assert set(store.fingerprints()) == {"p0", "p2"}
    assert store.delete(["p1"]) == 0  # deleting again is harmless


def test_ensure_schema_is_idempotent_and_keeps_data(store: Any) -> None:
    store.upsert([make_doc("p1")])
    store.ensure_schema()
    store.ensure_schema()
    assert store.fingerprints() == {"p1": "h1"}


@pytest.mark.parametrize("bad", [["not a document"], [{"policy_id": "p9", "content_hash": "h"}], [None]])
def test_bad_documents_are_refused_before_anything_is_written(store: Any, bad: list[Any]) -> None:
    store.upsert([make_doc("p1")])
    with pytest.raises(ValidationError) as info:
        store.upsert([make_doc("p2"), *bad])
    assert info.value.code == "VALID_3001"
    # The whole batch was refused up front: p2 was not half-written, p1 is untouched.
    assert store.fingerprints() == {"p1": "h1"}


@pytest.mark.parametrize("bad", ["p1", [""], [None], [42]])
def test_bad_delete_ids_are_refused_and_nothing_is_lost(store: Any, bad: Any) -> None:
    store.upsert([make_doc("p1"), make_doc("p2")])
    with pytest.raises(ValidationError) as info:
        store.delete(bad)
    assert info.value.code == "VALID_3001"
    assert store.count() == 2
