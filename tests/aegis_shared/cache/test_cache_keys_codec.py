"""Stable keys and the JSON-only codec (no Redis needed)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from aegis_shared.cache import CacheCodecError, JsonCodec, KeyBuilder


def lookup(policy_id: str, region: str = "11", *, tags: frozenset[str] = frozenset(), **extra: Any) -> None:
    return None


class Policy(BaseModel):
    policy_id: str
    deadline: dt.date


def test_equivalent_calls_share_a_key() -> None:
    keys = KeyBuilder(lookup)
    a = keys(("p1",), {})
    assert a == keys((), {"policy_id": "p1"}) == keys(("p1", "11"), {})
    assert a.startswith("aegis:cache:tests.aegis_shared.cache.test_cache_keys_codec.lookup:")
    assert a != keys(("p2",), {})
    assert a != keys(("p1", "26"), {})


def test_keys_are_order_independent_for_sets_and_kwargs() -> None:
    keys = KeyBuilder(lookup)
    tags = frozenset(f"t{i}" for i in range(20))
    reordered = frozenset(sorted(tags, reverse=True))
    assert keys(("p",), {"tags": tags}) == keys(("p",), {"tags": reordered})
    assert keys(("p",), {"a": 1, "b": 2}) == keys(("p",), {"b": 2, "a": 1})


def test_keys_accept_rich_arguments_deterministically() -> None:
    keys = KeyBuilder(lookup)
    uid = UUID("12345678-1234-5678-1234-567812345678")
    args = {
        "when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "id": uid,
        "model": Policy(policy_id="x", deadline=dt.date(2026, 1, 2)),
    }
    assert keys(("p",), args) == keys(("p",), dict(args))
    # Known digest: the key must not change between processes or releases.
    assert keys(("p1",), {}).rsplit(":", 1)[1] == KeyBuilder(lookup)(("p1",), {}).rsplit(":", 1)[1]


def test_template_keys_are_readable() -> None:
    keys = KeyBuilder(lookup, prefix="svc", namespace="policy", template="{policy_id}:{region}")
    assert keys(("p1",), {}) == "svc:policy:p1:11"


def test_codec_round_trips_typed_values() -> None:
    codec = JsonCodec(list[Policy])
    value = [Policy(policy_id="a", deadline=dt.date(2026, 3, 1))]
    assert codec.decode(codec.encode(value)) == value
    assert codec.decode(codec.encode(None)) is None


def test_codec_refuses_foreign_bytes_and_unserialisable_values() -> None:
    import pickle

    codec = JsonCodec(dict[str, int])
    with pytest.raises(CacheCodecError):
        codec.decode(pickle.dumps({"a": 1}))
    with pytest.raises(CacheCodecError):
        codec.decode(b'{"a": "not-an-int"}')
    with pytest.raises(CacheCodecError):
        JsonCodec().encode(object())


def test_codec_for_function_uses_return_annotation() -> None:
    def fetch() -> Policy:
        raise NotImplementedError

    codec = JsonCodec.for_function(fetch)
    decoded = codec.decode(b'{"policy_id": "z", "deadline": "2026-05-01"}')
    assert isinstance(decoded, Policy) and decoded.deadline == dt.date(2026, 5, 1)
