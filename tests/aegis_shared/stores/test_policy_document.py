"""PolicyDocument validation: a bad row fails with a code before any store is touched."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from aegis_shared.errors import ValidationError
from aegis_shared.stores import PolicyDocument
from aegis_shared.stores.base import unique_by_id, validate_ids
from aegis_shared.stores.batching import chunks

from .conftest import make_doc


def test_lists_become_tuples_without_repeats() -> None:
    doc = PolicyDocument("p1", "h", "t", region_codes=["11", "26", "11"])  # type: ignore[arg-type]
    assert doc.region_codes == ("11", "26")
    assert doc.to_dict()["region_codes"] == ("11", "26")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"policy_id": ""}, "VALID_3002"),
        ({"policy_id": "   "}, "VALID_3002"),
        ({"policy_id": None}, "VALID_3002"),
        ({"content_hash": ""}, "VALID_3002"),
        ({"policy_id": "x" * 257}, "VALID_3004"),
        ({"content_hash": "h" * 129}, "VALID_3004"),
        ({"title": None}, "VALID_3001"),
        ({"status": ""}, "VALID_3001"),
        ({"summary": 42}, "VALID_3001"),
        ({"period_start": "2026-01-01"}, "VALID_3001"),
        ({"region_codes": "11"}, "VALID_3001"),
        ({"region_codes": ("11", "")}, "VALID_3001"),
        ({"industries": (None,)}, "VALID_3001"),
    ],
)
def test_invalid_fields_carry_a_code(overrides: dict[str, Any], code: str) -> None:
    fields: dict[str, Any] = {"policy_id": "p1", "content_hash": "h", "title": "t", **overrides}
    with pytest.raises(ValidationError) as info:
        PolicyDocument(**fields)
    assert info.value.code == code
    assert "field" in info.value.details


def test_dates_are_accepted() -> None:
    doc = make_doc("p1", period_start=date(2026, 3, 1), period_end=None)
    assert doc.period_start == date(2026, 3, 1)


def test_unique_by_id_keeps_last_version_in_first_seen_order() -> None:
    docs = [make_doc("a", "1"), make_doc("b", "1"), make_doc("a", "2")]
    assert [(d.policy_id, d.content_hash) for d in unique_by_id(docs)] == [("a", "2"), ("b", "1")]


def test_validate_ids_drops_repeats_and_refuses_a_bare_string() -> None:
    assert validate_ids(["a", "b", "a"]) == ["a", "b"]
    with pytest.raises(ValidationError):
        validate_ids("abc")


def test_chunks() -> None:
    assert [list(c) for c in chunks([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert list(chunks([], 3)) == []
    with pytest.raises(ValueError):
        list(chunks([1], 0))


ROW = (
    "p1",
    "h",
    "공고",
    "요약",
    "중소벤처기업부",
    "창업진흥원",
    "창업",
    ["11", "26"],
    ["청년"],
    "https://example.go.kr/1",
    date(2026, 1, 1),
    date(2026, 12, 31),
    "active",
)
_ROW_FIELDS = (
    "policy_id",
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
)


def _row(**overrides: Any) -> tuple[Any, ...]:
    return tuple(overrides.get(name, value) for name, value in zip(_ROW_FIELDS, ROW, strict=True))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"region_codes": None, "target_groups": []},
        {"summary": None, "period_end": None},
        {"region_codes": ("11",)},
        {"region_codes": ["11", "26", "11"]},
    ],
)
def test_from_row_builds_exactly_what_the_constructor_builds(overrides: dict[str, Any]) -> None:
    row = _row(**overrides)
    expected = dict(zip(_ROW_FIELDS, row, strict=True))
    expected["region_codes"] = expected["region_codes"] or ()
    expected["target_groups"] = expected["target_groups"] or ()
    built = PolicyDocument.from_row(*row)
    assert built == PolicyDocument(**expected)
    assert isinstance(built.region_codes, tuple) and built.industries == ()


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"policy_id": ""}, "VALID_3002"),
        ({"policy_id": None}, "VALID_3002"),
        ({"policy_id": "x" * 257}, "VALID_3004"),
        ({"content_hash": "h" * 129}, "VALID_3004"),
        ({"title": None}, "VALID_3001"),
        ({"status": ""}, "VALID_3001"),
        ({"summary": 42}, "VALID_3001"),
        ({"period_start": "2026-01-01"}, "VALID_3001"),
        ({"region_codes": "11"}, "VALID_3001"),
        ({"region_codes": ["11", ""]}, "VALID_3001"),
        ({"target_groups": [None]}, "VALID_3001"),
    ],
)
def test_from_row_refuses_a_bad_row_with_the_constructors_code(overrides: dict[str, Any], code: str) -> None:
    with pytest.raises(ValidationError) as info:
        PolicyDocument.from_row(*_row(**overrides))
    assert info.value.code == code
