"""Pairwise JSON Schema compatibility: each family of change, each mode, pointers and bad input."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from aegis_shared.errors import ValidationError
from aegis_shared.events.compatibility import (
    COMPATIBLE_KINDS,
    ChangeKind,
    CompatibilityMode,
    check_compatibility,
    rules,
)


def _obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


def _kinds(previous: Any, candidate: Any, mode: str = "BACKWARD") -> set[tuple[str, str]]:
    return {(c.kind, c.pointer) for c in check_compatibility(previous, candidate, mode).changes}


def _verdict(previous: Any, candidate: Any, mode: str = "BACKWARD") -> bool:
    return check_compatibility(previous, candidate, mode).is_compatible


# ---- result shape --------------------------------------------------------------------------


def test_identical_schemas_have_no_changes() -> None:
    schema = _obj({"policyId": {"type": "string"}}, required=["policyId"])
    result = check_compatibility(schema, schema)
    assert result.is_compatible
    assert result.changes == ()
    assert result.mode is CompatibilityMode.BACKWARD


def test_change_carries_kind_pointer_breaking_and_message() -> None:
    result = check_compatibility(_obj({"amount": {"type": "string"}}), _obj({"amount": {"type": "integer"}}))
    assert not result.is_compatible
    (change,) = result.changes
    assert change.kind == "TYPE_CHANGED"
    assert change.pointer == "#/properties/amount"
    assert change.breaking
    assert "#/properties/amount" in change.message
    assert result.breaking_changes == (change,)


def test_kinds_are_enum_members_that_read_as_confluents_names() -> None:
    (change,) = check_compatibility(
        {"type": "string", "maxLength": 9}, {"type": "string", "maxLength": 5}
    ).changes
    assert change.kind is ChangeKind.MAX_LENGTH_DECREASED
    assert change.kind == "MAX_LENGTH_DECREASED" and f"{change.kind}" == "MAX_LENGTH_DECREASED"


def test_every_kind_is_spelled_out_where_the_rules_produce_it() -> None:
    # Grepping a kind must find where it comes from: no kind is assembled from pieces.
    source = Path(rules.__file__).read_text(encoding="utf-8")
    spelled = set(re.findall(r"\bK\.([A-Z_]+)\b", source))
    # The loader reads unevaluatedProperties as additionalProperties, so these two are never produced.
    never_produced = {ChangeKind.UNEVALUATED_PROPERTIES_ADDED, ChangeKind.UNEVALUATED_PROPERTIES_EXTENDED}
    assert {k.name for k in ChangeKind} - {k.name for k in never_produced} == spelled


def test_result_is_frozen() -> None:
    result = check_compatibility({}, {})
    with pytest.raises(AttributeError):
        result.is_compatible = False  # type: ignore[misc]


def test_pointer_escapes_slash_and_tilde_in_property_names() -> None:
    old = _obj({"a/b": {"type": "string"}, "c~d": {"type": "string"}})
    new = _obj({"a/b": {"type": "number"}, "c~d": {"type": "number"}})
    assert _kinds(old, new) == {
        ("TYPE_CHANGED", "#/properties/a~1b"),
        ("TYPE_CHANGED", "#/properties/c~0d"),
    }


def test_nested_pointer_reaches_deep_property() -> None:
    old = _obj({"region": _obj({"code": {"type": "string", "maxLength": 10}})})
    new = _obj({"region": _obj({"code": {"type": "string", "maxLength": 5}})})
    assert _kinds(old, new) == {("MAX_LENGTH_DECREASED", "#/properties/region/properties/code/maxLength")}


# ---- modes ---------------------------------------------------------------------------------

NARROW = {"type": "integer"}
WIDE = {"type": "number"}


@pytest.mark.parametrize(
    ("mode", "narrow_to_wide", "wide_to_narrow"),
    [
        ("BACKWARD", True, False),
        ("BACKWARD_TRANSITIVE", True, False),
        ("FORWARD", False, True),
        ("FORWARD_TRANSITIVE", False, True),
        ("FULL", False, False),
        ("FULL_TRANSITIVE", False, False),
        ("NONE", True, True),
    ],
)
def test_every_mode_decides_by_its_direction(mode: str, narrow_to_wide: bool, wide_to_narrow: bool) -> None:
    assert _verdict(NARROW, WIDE, mode) is narrow_to_wide
    assert _verdict(WIDE, NARROW, mode) is wide_to_narrow


def test_full_reports_both_directions() -> None:
    result = check_compatibility(NARROW, WIDE, "FULL")
    kinds = {c.kind for c in result.changes}
    assert kinds == {"TYPE_EXTENDED", "TYPE_NARROWED"}
    assert any(c.message.startswith("forward:") for c in result.changes)


def test_none_mode_reports_changes_but_nothing_breaks() -> None:
    result = check_compatibility({"type": "string"}, {"type": "boolean"}, "NONE")
    assert result.is_compatible
    assert [(c.kind, c.breaking) for c in result.changes] == [("TYPE_CHANGED", False)]


def test_mode_names_are_case_insensitive() -> None:
    assert (
        check_compatibility(NARROW, WIDE, "backward_transitive").mode is CompatibilityMode.BACKWARD_TRANSITIVE
    )


def test_unknown_mode_is_a_coded_error() -> None:
    with pytest.raises(ValidationError) as caught:
        check_compatibility(NARROW, WIDE, "SIDEWAYS")
    assert caught.value.code == "VALID_3001"
    assert "BACKWARD" in caught.value.details["allowed"]


# ---- types ---------------------------------------------------------------------------------


def test_integer_to_number_widens_and_reverse_narrows() -> None:
    assert _kinds(NARROW, WIDE) == {("TYPE_EXTENDED", "#/")}
    assert _kinds(WIDE, NARROW) == {("TYPE_NARROWED", "#/")}
    assert "TYPE_EXTENDED" in COMPATIBLE_KINDS and "TYPE_NARROWED" not in COMPATIBLE_KINDS


def test_unrelated_type_change_breaks() -> None:
    assert _kinds({"type": "string"}, {"type": "object"}) == {("TYPE_CHANGED", "#/")}
    assert not _verdict({"type": "string"}, {"type": "object"})


def test_anything_may_become_the_empty_schema_but_not_back() -> None:
    assert _verdict({"type": "string", "minLength": 3}, {})
    assert _verdict({"type": "string"}, True)
    assert not _verdict({}, {"type": "string"})


def test_false_schema_may_become_anything() -> None:
    assert _verdict(False, {"type": "string"})


def test_nullable_union_widens_a_plain_type() -> None:
    assert _kinds({"type": "string"}, {"type": ["string", "null"]}) == {("SUM_TYPE_EXTENDED", "#/")}
    assert not _verdict({"type": ["string", "null"]}, {"type": "string"})


def test_annotations_are_compatible_changes() -> None:
    old = {"type": "string", "title": "a", "description": "x", "default": "k", "$id": "urn:a"}
    new = {"type": "string", "title": "b", "description": "y", "default": "j", "$id": "urn:b"}
    assert _kinds(old, new) == {
        ("TITLE_CHANGED", "#/"),
        ("DESCRIPTION_CHANGED", "#/"),
        ("DEFAULT_CHANGED", "#/"),
        ("ID_CHANGED", "#/"),
    }
    assert _verdict(old, new)


# ---- strings and numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "kind", "compatible"),
    [
        ({"maxLength": 20}, {"maxLength": 40}, "MAX_LENGTH_INCREASED", True),
        ({"maxLength": 40}, {"maxLength": 20}, "MAX_LENGTH_DECREASED", False),
        ({}, {"maxLength": 20}, "MAX_LENGTH_ADDED", False),
        ({"maxLength": 20}, {}, "MAX_LENGTH_REMOVED", True),
        ({"minLength": 2}, {"minLength": 1}, "MIN_LENGTH_DECREASED", True),
        ({"minLength": 1}, {"minLength": 2}, "MIN_LENGTH_INCREASED", False),
        ({}, {"pattern": "^[0-9]+$"}, "PATTERN_ADDED", False),
        ({"pattern": "^[0-9]+$"}, {}, "PATTERN_REMOVED", True),
        ({"pattern": "^[0-9]+$"}, {"pattern": "^[a-z]+$"}, "PATTERN_CHANGED", False),
    ],
)
def test_string_bounds(old: dict[str, Any], new: dict[str, Any], kind: str, compatible: bool) -> None:
    result = check_compatibility({"type": "string", **old}, {"type": "string", **new})
    assert [c.kind for c in result.changes] == [kind]
    word = next(iter(old or new))
    assert result.changes[0].pointer == f"#/{word}"
    assert result.is_compatible is compatible


@pytest.mark.parametrize(
    ("old", "new", "kind", "compatible"),
    [
        ({"maximum": 100}, {"maximum": 200}, "MAXIMUM_INCREASED", True),
        ({"maximum": 200}, {"maximum": 100}, "MAXIMUM_DECREASED", False),
        ({}, {"maximum": 100}, "MAXIMUM_ADDED", False),
        ({"minimum": 0}, {"minimum": -5}, "MINIMUM_DECREASED", True),
        ({"minimum": 0}, {"minimum": 5}, "MINIMUM_INCREASED", False),
        ({"minimum": 0}, {}, "MINIMUM_REMOVED", True),
        ({"exclusiveMaximum": 10}, {"exclusiveMaximum": 11}, "EXCLUSIVE_MAXIMUM_INCREASED", True),
        ({"exclusiveMaximum": 11}, {"exclusiveMaximum": 10}, "EXCLUSIVE_MAXIMUM_DECREASED", False),
        ({"exclusiveMinimum": 1}, {"exclusiveMinimum": 0}, "EXCLUSIVE_MINIMUM_DECREASED", True),
        ({"exclusiveMinimum": 0}, {"exclusiveMinimum": 1}, "EXCLUSIVE_MINIMUM_INCREASED", False),
        ({}, {"exclusiveMinimum": 1}, "EXCLUSIVE_MINIMUM_ADDED", False),
        ({"multipleOf": 10}, {"multipleOf": 5}, "MULTIPLE_OF_REDUCED", True),
        ({"multipleOf": 5}, {"multipleOf": 10}, "MULTIPLE_OF_EXPANDED", False),
        ({"multipleOf": 4}, {"multipleOf": 6}, "MULTIPLE_OF_CHANGED", False),
        ({"multipleOf": 0.5}, {"multipleOf": 0.25}, "MULTIPLE_OF_REDUCED", True),
        ({"multipleOf": 0.1}, {"multipleOf": 0.3}, "MULTIPLE_OF_EXPANDED", False),
        ({"multipleOf": 3}, {}, "MULTIPLE_OF_REMOVED", True),
    ],
)
def test_number_bounds(old: dict[str, Any], new: dict[str, Any], kind: str, compatible: bool) -> None:
    result = check_compatibility({"type": "number", **old}, {"type": "number", **new})
    assert [c.kind for c in result.changes] == [kind]
    assert result.is_compatible is compatible


# ---- enums and const -----------------------------------------------------------------------


def test_enum_values_added_removed_and_swapped() -> None:
    status = {"enum": ["pending_validation", "active"]}
    more = {"enum": ["pending_validation", "active", "rejected"]}
    other = {"enum": ["pending_validation", "expired"]}
    assert _kinds(status, more) == {("ENUM_ARRAY_EXTENDED", "#/enum")}
    assert _verdict(status, more)
    assert _kinds(more, status) == {("ENUM_ARRAY_NARROWED", "#/enum")}
    assert not _verdict(more, status)
    assert _kinds(status, other) == {("ENUM_ARRAY_CHANGED", "#/enum")}


def test_typed_enum_values_are_compared_as_json_not_python() -> None:
    # 1 and true are different JSON values even though Python says 1 == True.
    assert not _verdict({"enum": [1]}, {"enum": [True]})


def test_dropping_an_enum_beside_a_type_relaxes() -> None:
    assert _verdict({"type": "string", "enum": ["a"]}, {"type": "string"})
    assert not _verdict({"type": "string"}, {"type": "string", "enum": ["a"]})


def test_const_change_breaks() -> None:
    assert _kinds({"const": "v1"}, {"const": "v2"}) == {("ENUM_ARRAY_CHANGED", "#/const")}


# ---- objects: content models and required ----------------------------------------------------

CLOSED = {"additionalProperties": False}


def test_property_added_to_open_model_breaks_unless_empty_schema() -> None:
    old = _obj({"a": {"type": "string"}})
    assert _kinds(old, _obj({"a": {"type": "string"}, "b": {"type": "string"}})) == {
        ("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "#/properties/b")
    }
    assert not _verdict(old, _obj({"a": {"type": "string"}, "b": {"type": "string"}}))
    assert _verdict(old, _obj({"a": {"type": "string"}, "b": {}}))


def test_property_removed_from_open_model_is_fine_but_from_closed_model_breaks() -> None:
    full = {"a": {"type": "string"}, "b": {"type": "integer"}}
    assert _kinds(_obj(full), _obj({"a": {"type": "string"}})) == {
        ("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", "#/properties/b")
    }
    assert _kinds(_obj(full, **CLOSED), _obj({"a": {"type": "string"}}, **CLOSED)) == {
        ("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "#/properties/b")
    }
    assert not _verdict(_obj(full, **CLOSED), _obj({"a": {"type": "string"}}, **CLOSED))


def test_optional_property_added_to_closed_model_is_fine_required_needs_default() -> None:
    old = _obj({"a": {"type": "string"}}, **CLOSED)
    optional = _obj({"a": {"type": "string"}, "b": {"type": "string"}}, **CLOSED)
    required = _obj({"a": {"type": "string"}, "b": {"type": "string"}}, required=["b"], **CLOSED)
    defaulted = _obj(
        {"a": {"type": "string"}, "b": {"type": "string", "default": "x"}}, required=["b"], **CLOSED
    )
    assert _verdict(old, optional)
    assert _kinds(old, required) == {("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/b")}
    assert not _verdict(old, required)
    assert _kinds(old, defaulted) == {
        ("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/b")
    }
    assert _verdict(old, defaulted)


def test_required_added_to_existing_property_with_and_without_default() -> None:
    old = _obj({"a": {"type": "string"}})
    assert _kinds(old, _obj({"a": {"type": "string"}}, required=["a"])) == {
        ("REQUIRED_ATTRIBUTE_ADDED", "#/required/a")
    }
    assert not _verdict(old, _obj({"a": {"type": "string"}}, required=["a"]))
    assert _verdict(old, _obj({"a": {"type": "string", "default": ""}}, required=["a"]))
    assert _kinds(_obj({"a": {"type": "string"}}, required=["a"]), old) == {
        ("REQUIRED_ATTRIBUTE_REMOVED", "#/required/a")
    }


def test_partially_open_model_covers_added_and_removed_properties() -> None:
    old = _obj({"a": {"type": "string"}}, patternProperties={"^x_": {"type": "string"}}, **CLOSED)
    covered = _obj(
        {"a": {"type": "string"}, "x_note": {"type": "string"}},
        patternProperties={"^x_": {"type": "string"}},
        **CLOSED,
    )
    uncovered = _obj(
        {"a": {"type": "string"}, "x_note": {"type": "number"}},
        patternProperties={"^x_": {"type": "string"}},
        **CLOSED,
    )
    assert ("PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "#/properties/x_note") in _kinds(
        old, covered
    )
    assert _verdict(old, covered)
    assert ("PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "#/properties/x_note") in _kinds(
        old, uncovered
    )
    assert not _verdict(old, uncovered)
    # Removing a property that the pattern still covers is fine.
    assert _verdict(covered, old)


def test_additional_properties_changes() -> None:
    assert _kinds({"additionalProperties": False}, {"additionalProperties": True}) == {
        ("ADDITIONAL_PROPERTIES_ADDED", "#/additionalProperties")
    }
    assert not _verdict({"additionalProperties": True}, {"additionalProperties": False})
    assert not _verdict({"additionalProperties": True}, {"additionalProperties": {"type": "string"}})
    assert _verdict({"additionalProperties": {"type": "string"}}, {"additionalProperties": True})
    assert _kinds(
        {"additionalProperties": {"type": "integer"}}, {"additionalProperties": {"type": "number"}}
    ) == {("TYPE_EXTENDED", "#/additionalProperties")}


def test_property_count_bounds() -> None:
    assert _verdict({"type": "object", "maxProperties": 3}, {"type": "object", "maxProperties": 5})
    assert not _verdict({"type": "object", "minProperties": 1}, {"type": "object", "minProperties": 2})
    assert _kinds({"type": "object"}, {"type": "object", "maxProperties": 5}) == {
        ("MAX_PROPERTIES_ADDED", "#/maxProperties")
    }


def test_dependencies_arrays_and_schemas() -> None:
    old = {"type": "object", "dependencies": {"a": ["b", "c"], "s": {"required": ["t"]}}}
    narrowed = {"type": "object", "dependencies": {"a": ["b"], "s": {"required": ["t"]}}}
    extended = {"type": "object", "dependencies": {"a": ["b", "c", "d"], "s": {"required": ["t"]}}}
    dropped_schema = {"type": "object", "dependencies": {"a": ["b", "c"]}}
    assert _kinds(old, narrowed) == {("DEPENDENCY_ARRAY_NARROWED", "#/dependencies/a")}
    assert _verdict(old, narrowed)
    assert _kinds(old, extended) == {("DEPENDENCY_ARRAY_EXTENDED", "#/dependencies/a")}
    assert not _verdict(old, extended)
    assert _kinds(old, dropped_schema) == {("DEPENDENCY_SCHEMA_REMOVED", "#/dependencies/s")}
    assert not _verdict(dropped_schema, old)


# ---- arrays --------------------------------------------------------------------------------


def test_array_item_schema_and_bounds() -> None:
    ints = {"type": "array", "items": {"type": "integer"}}
    nums = {"type": "array", "items": {"type": "number"}}
    assert _kinds(ints, nums) == {("TYPE_EXTENDED", "#/items")}
    assert not _verdict(nums, ints)
    assert _verdict({"type": "array", "maxItems": 2}, {"type": "array", "maxItems": 3})
    assert not _verdict({"type": "array", "maxItems": 3}, {"type": "array", "maxItems": 2})
    assert not _verdict({"type": "array", "minItems": 1}, {"type": "array", "minItems": 2})
    assert _verdict({"type": "array", "minItems": 2}, {"type": "array"})
    assert _kinds({"type": "array", "uniqueItems": True}, {"type": "array"}) == {
        ("UNIQUE_ITEMS_REMOVED", "#/uniqueItems")
    }
    assert not _verdict({"type": "array"}, {"type": "array", "uniqueItems": True})
    assert _kinds({"type": "array"}, {"type": "array", "items": {"type": "string"}}) == {
        ("SCHEMA_ADDED", "#/items")
    }


def test_draft7_tuple_items_and_additional_items() -> None:
    closed = {"type": "array", "items": [{"type": "string"}], "additionalItems": False}
    longer = {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False}
    assert _kinds(closed, longer) == {("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", "#/items/1")}
    assert _verdict(closed, longer)
    assert _kinds(longer, closed) == {("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", "#/items/1")}
    assert not _verdict(longer, closed)
    assert not _verdict(
        {"type": "array", "items": [{"type": "string"}]},
        {"type": "array", "items": [{"type": "string"}, {}, {"type": "integer"}]},
    )


def test_draft2020_prefix_items_and_items_as_tail() -> None:
    draft = "https://json-schema.org/draft/2020-12/schema"
    old = {
        "$schema": draft,
        "type": "array",
        "prefixItems": [{"type": "string"}],
        "items": {"type": "integer"},
    }
    new = {
        "$schema": draft,
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}],
        "items": True,
    }
    changes = _kinds(old, new)
    assert ("ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "#/items/1") in changes
    assert ("ADDITIONAL_ITEMS_EXTENDED", "#/additionalItems") in changes
    assert _verdict(old, new)
    closed = {"$schema": draft, "type": "array", "prefixItems": [{"type": "string"}], "items": False}
    assert _kinds(old, closed) == {("ADDITIONAL_ITEMS_REMOVED", "#/additionalItems")}
    assert not _verdict(old, closed)


def test_draft2020_dependent_required_and_unevaluated_properties() -> None:
    draft = "https://json-schema.org/draft/2020-12/schema"
    old = {"$schema": draft, "properties": {"a": {"type": "string"}}, "unevaluatedProperties": False}
    new = {
        "$schema": draft,
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "unevaluatedProperties": False,
        "dependentRequired": {"b": ["a"]},
    }
    assert ("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/b") in _kinds(old, new)
    assert ("DEPENDENCY_ARRAY_ADDED", "#/dependencies/b") in _kinds(old, new)
    assert not _verdict(old, new)


def test_contains_bounds_in_2020() -> None:
    draft = "https://json-schema.org/draft/2020-12/schema"
    base = {"$schema": draft, "type": "array", "contains": {"type": "string"}}
    assert not _verdict({**base, "minContains": 1}, {**base, "minContains": 3})
    assert _verdict({**base, "maxContains": 2}, {**base, "maxContains": 4})


# ---- combined schemas ----------------------------------------------------------------------


def test_union_member_added_is_sum_extension_and_removed_breaks() -> None:
    two = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    three = {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
    assert _kinds(two, three) == {("SUM_TYPE_EXTENDED", "#/")}
    assert _kinds(three, two) == {("SUM_TYPE_NARROWED", "#/")}
    assert not _verdict(three, two)


def test_union_member_order_does_not_matter() -> None:
    a = {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "integer"}]}
    b = {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 9}]}
    assert _kinds(a, b) == {("MAX_LENGTH_INCREASED", "#/anyOf/0/maxLength")}
    assert _verdict(a, b)


def test_allof_member_added_breaks_removed_relaxes() -> None:
    one = {"allOf": [{"type": "string"}]}
    two = {"allOf": [{"type": "string"}, {"maxLength": 3}]}
    assert _kinds(one, two) == {("PRODUCT_TYPE_EXTENDED", "#/")}
    assert not _verdict(one, two)
    assert _kinds(two, one) == {("PRODUCT_TYPE_NARROWED", "#/")}
    assert _verdict(two, one)


def test_combined_criterion_changes() -> None:
    members = [{"type": "string"}, {"type": "integer"}]
    assert _kinds({"oneOf": members}, {"anyOf": members}) == {("COMBINED_TYPE_EXTENDED", "#/")}
    assert _verdict({"oneOf": members}, {"anyOf": members})
    assert _kinds({"anyOf": members}, {"oneOf": members}) == {("COMBINED_TYPE_CHANGED", "#/")}
    assert not _verdict({"anyOf": members}, {"oneOf": members})


def test_union_members_replaced_breaks() -> None:
    assert _kinds({"oneOf": [{"type": "string"}]}, {"oneOf": [{"type": "boolean"}]}) == {
        ("COMBINED_TYPE_SUBSCHEMAS_CHANGED", "#/")
    }


def test_not_schema_direction_is_reversed() -> None:
    assert _kinds({"not": {"type": "number"}}, {"not": {"type": "integer"}}) == {
        ("NOT_TYPE_NARROWED", "#/not")
    }
    assert not _verdict({"not": {"type": "integer"}}, {"not": {"type": "number"}})


# ---- references ----------------------------------------------------------------------------


def test_refs_resolve_to_definitions_and_defs() -> None:
    old = {
        "type": "object",
        "properties": {"r": {"$ref": "#/definitions/Region"}},
        "definitions": {"Region": {"type": "string"}},
    }
    new = {
        "type": "object",
        "properties": {"r": {"$ref": "#/$defs/Region"}},
        "$defs": {"Region": {"type": "integer"}},
    }
    assert _kinds(old, new) == {("TYPE_CHANGED", "#/properties/r")}
    inline = {"type": "object", "properties": {"r": {"type": "string"}}}
    assert _verdict(old, inline) and _verdict(inline, old)


def test_recursive_schemas_terminate() -> None:
    tree = {
        "$ref": "#/definitions/Node",
        "definitions": {
            "Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/definitions/Node"}}},
            }
        },
    }
    deeper = {
        "$ref": "#/definitions/Node",
        "definitions": {
            "Node": {
                "type": "object",
                "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/definitions/Node"}},
                    "label": {"type": "string"},
                },
                "additionalProperties": False,
            }
        },
    }
    assert _verdict(tree, tree)
    result = check_compatibility(tree, deeper)
    assert ("ADDITIONAL_PROPERTIES_REMOVED", "#/additionalProperties") in {
        (c.kind, c.pointer) for c in result.changes
    }


# ---- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [["not", "a", "schema"], "string", 42, None])
def test_non_schema_documents_are_refused(bad: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        check_compatibility(bad, {"type": "string"})
    assert caught.value.code == "VALID_3012"
    with pytest.raises(ValidationError):
        check_compatibility({"type": "string"}, bad)


def test_non_schema_subschema_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        check_compatibility(_obj({"a": {"type": "string"}}), _obj({"a": 5}))
    assert caught.value.code == "VALID_3012"


def test_dangling_ref_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        check_compatibility({"type": "string"}, {"$ref": "#/definitions/Missing"})
    assert caught.value.code == "VALID_3012"
    assert caught.value.details["ref"] == "#/definitions/Missing"


def test_remote_ref_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        check_compatibility({"type": "string"}, {"$ref": "https://example.com/schema.json"})
    assert caught.value.code == "VALID_3012"


def test_unknown_type_name_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        check_compatibility({"type": "string"}, {"type": "text"})
    assert caught.value.code == "VALID_3012"


def test_inputs_are_not_modified() -> None:
    old = _obj({"a": {"type": "string"}}, required=["a"])
    new = _obj({"a": {"type": "integer"}})
    snapshot = (repr(old), repr(new))
    check_compatibility(old, new, "FULL")
    assert (repr(old), repr(new)) == snapshot
