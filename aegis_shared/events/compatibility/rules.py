"""The side-by-side walk: every difference between two loaded schemas, with Confluent's name.

Each rule records a :class:`~aegis_shared.events.compatibility.kinds.ChangeKind` at a JSON
pointer; whether the difference breaks a reader is decided afterwards from the kind alone
(:data:`~aegis_shared.events.compatibility.kinds.COMPATIBLE_KINDS`). Where two readings are
possible (a property added under ``patternProperties``, members of a union in another order),
a sub-walk tries one branch and is kept only if it stays compatible.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from fractions import Fraction
from typing import Any, NamedTuple

from aegis_shared.events.compatibility import model as m
from aegis_shared.events.compatibility.kinds import COMPATIBLE_KINDS, ChangeKind

# Short, for the many ``walk.add(K.…)`` lines; each kind is still spelled out in full.
K = ChangeKind


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Walk:
    """Collects differences under a JSON pointer; sub-walks try a branch without committing."""

    def __init__(self, path: list[str] | None = None, active: set[tuple[int, int]] | None = None) -> None:
        self.path: list[str] = list(path or [])
        self.found: list[tuple[ChangeKind, str]] = []
        # Pairs being compared further up the stack: recursion through $ref stops there.
        self.active: set[tuple[int, int]] = active if active is not None else set()

    def branch(self) -> _Walk:
        return _Walk(self.path, self.active)

    @property
    def compatible(self) -> bool:
        return all(kind in COMPATIBLE_KINDS for kind, _ in self.found)

    @contextmanager
    def at(self, *tokens: str) -> Iterator[None]:
        self.path.extend(tokens)
        try:
            yield
        finally:
            del self.path[len(self.path) - len(tokens) :]

    def add(self, kind: ChangeKind, *tokens: str) -> None:
        self.found.append((kind, "#/" + "/".join(self.path + list(tokens))))

    def extend(self, other: _Walk) -> None:
        self.found.extend(other.found)


def differences(original: m.Schema, update: m.Schema) -> list[tuple[ChangeKind, str]]:
    walk = _Walk()
    _compare(walk, original, update)
    return walk.found


def _compare(walk: _Walk, original: m.Schema | None, update: m.Schema | None) -> None:
    if original is None and update is None:
        return
    if original is None:
        walk.add(K.SCHEMA_ADDED)
        return
    if update is None:
        walk.add(K.SCHEMA_REMOVED)
        return
    original, update = m.deref(original), m.deref(update)

    if not isinstance(original, m.Combined) and isinstance(update, m.Combined):
        if _union_absorbs(walk, original, update):
            return
    elif isinstance(original, m.Combined) and not isinstance(update, m.Combined):
        if len(original.subschemas) == 1:
            trial = walk.branch()
            _compare(trial, original.subschemas[0], update)
            if trial.compatible:
                walk.extend(trial)
                return
        elif original.criterion == "allOf":
            # Dropping conjuncts (e.g. removing "enum" beside "type") only relaxes: read the
            # plain update as a one-member allOf and let the member matching decide.
            update = _as_product(update)

    if type(original) is not type(update):
        # Moving to "accept anything", or away from "accept nothing", cannot break a reader.
        if isinstance(original, m.FalseSchema) or isinstance(update, m.Empty):
            return
        walk.add(K.TYPE_CHANGED)
        return

    pair = (id(original), id(update))
    if pair in walk.active:
        return  # recursive schema: this pair is already being compared further up
    walk.active.add(pair)
    try:
        _compare_annotations(walk, original, update)
        _COMPARERS.get(type(original), _compare_nothing)(walk, original, update)
    finally:
        walk.active.discard(pair)


def _union_absorbs(walk: _Walk, original: m.Schema, update: m.Combined) -> bool:
    """A plain schema moving into a union is fine when one member still reads it."""
    if len(update.subschemas) == 1:
        trial = walk.branch()
        _compare(trial, original, update.subschemas[0])
        if trial.compatible:
            walk.extend(trial)
            return True
    elif update.criterion in ("anyOf", "oneOf"):
        for member in update.subschemas:
            trial = walk.branch()
            _compare(trial, original, member)
            if trial.compatible:
                walk.extend(trial)
                walk.add(K.SUM_TYPE_EXTENDED)
                return True
    return False


def _as_product(schema: m.Schema) -> m.Combined:
    """Wrap ``schema`` as a one-member allOf that carries its annotations."""
    member = replace(schema, id=None, title=None, description=None, default=m.NO_DEFAULT)
    return m.Combined(
        schema.key,
        id=schema.id,
        title=schema.title,
        description=schema.description,
        default=schema.default,
        criterion="allOf",
        subschemas=[member],
    )


def _compare_annotations(walk: _Walk, original: m.Schema, update: m.Schema) -> None:
    if original.id != update.id:
        walk.add(K.ID_CHANGED)
    if original.title != update.title:
        walk.add(K.TITLE_CHANGED)
    if original.description != update.description:
        walk.add(K.DESCRIPTION_CHANGED)
    if original.default != update.default:
        walk.add(K.DEFAULT_CHANGED)


def _compare_nothing(walk: _Walk, original: Any, update: Any) -> None:
    return None


class _BoundKinds(NamedTuple):
    added: ChangeKind
    removed: ChangeKind
    increased: ChangeKind
    decreased: ChangeKind


# The four kinds each numeric keyword can produce, spelled out so a search for a kind finds it.
_BOUND_KINDS: dict[str, _BoundKinds] = {
    "maxLength": _BoundKinds(
        K.MAX_LENGTH_ADDED, K.MAX_LENGTH_REMOVED, K.MAX_LENGTH_INCREASED, K.MAX_LENGTH_DECREASED
    ),
    "minLength": _BoundKinds(
        K.MIN_LENGTH_ADDED, K.MIN_LENGTH_REMOVED, K.MIN_LENGTH_INCREASED, K.MIN_LENGTH_DECREASED
    ),
    "maximum": _BoundKinds(K.MAXIMUM_ADDED, K.MAXIMUM_REMOVED, K.MAXIMUM_INCREASED, K.MAXIMUM_DECREASED),
    "minimum": _BoundKinds(K.MINIMUM_ADDED, K.MINIMUM_REMOVED, K.MINIMUM_INCREASED, K.MINIMUM_DECREASED),
    "exclusiveMaximum": _BoundKinds(
        K.EXCLUSIVE_MAXIMUM_ADDED,
        K.EXCLUSIVE_MAXIMUM_REMOVED,
        K.EXCLUSIVE_MAXIMUM_INCREASED,
        K.EXCLUSIVE_MAXIMUM_DECREASED,
    ),
    "exclusiveMinimum": _BoundKinds(
        K.EXCLUSIVE_MINIMUM_ADDED,
        K.EXCLUSIVE_MINIMUM_REMOVED,
        K.EXCLUSIVE_MINIMUM_INCREASED,
        K.EXCLUSIVE_MINIMUM_DECREASED,
    ),
    "maxProperties": _BoundKinds(
        K.MAX_PROPERTIES_ADDED,
        K.MAX_PROPERTIES_REMOVED,
        K.MAX_PROPERTIES_INCREASED,
        K.MAX_PROPERTIES_DECREASED,
    ),
    "minProperties": _BoundKinds(
        K.MIN_PROPERTIES_ADDED,
        K.MIN_PROPERTIES_REMOVED,
        K.MIN_PROPERTIES_INCREASED,
        K.MIN_PROPERTIES_DECREASED,
    ),
    "maxItems": _BoundKinds(
        K.MAX_ITEMS_ADDED, K.MAX_ITEMS_REMOVED, K.MAX_ITEMS_INCREASED, K.MAX_ITEMS_DECREASED
    ),
    "minItems": _BoundKinds(
        K.MIN_ITEMS_ADDED, K.MIN_ITEMS_REMOVED, K.MIN_ITEMS_INCREASED, K.MIN_ITEMS_DECREASED
    ),
    "maxContains": _BoundKinds(
        K.MAX_CONTAINS_ADDED, K.MAX_CONTAINS_REMOVED, K.MAX_CONTAINS_INCREASED, K.MAX_CONTAINS_DECREASED
    ),
    "minContains": _BoundKinds(
        K.MIN_CONTAINS_ADDED, K.MIN_CONTAINS_REMOVED, K.MIN_CONTAINS_INCREASED, K.MIN_CONTAINS_DECREASED
    ),
}


def _bound(walk: _Walk, word: str, old: float | Fraction | None, new: float | Fraction | None) -> None:
    """Report the numeric keyword ``word`` added, removed, increased or decreased."""
    if old == new:
        return
    kinds = _BOUND_KINDS[word]
    if old is None:
        walk.add(kinds.added, word)
    elif new is None:
        walk.add(kinds.removed, word)
    elif old < new:
        walk.add(kinds.increased, word)
    else:
        walk.add(kinds.decreased, word)


def _compare_string(walk: _Walk, original: m.String, update: m.String) -> None:
    _bound(walk, "maxLength", original.max_length, update.max_length)
    _bound(walk, "minLength", original.min_length, update.min_length)
    if original.pattern is None and update.pattern is not None:
        walk.add(K.PATTERN_ADDED, "pattern")
    elif original.pattern is not None and update.pattern is None:
        walk.add(K.PATTERN_REMOVED, "pattern")
    elif original.pattern != update.pattern:
        walk.add(K.PATTERN_CHANGED, "pattern")


def _compare_number(walk: _Walk, original: m.Number, update: m.Number) -> None:
    _bound(walk, "maximum", original.maximum, update.maximum)
    _bound(walk, "minimum", original.minimum, update.minimum)
    _bound(walk, "exclusiveMaximum", original.exclusive_maximum, update.exclusive_maximum)
    _bound(walk, "exclusiveMinimum", original.exclusive_minimum, update.exclusive_minimum)
    old_step, new_step = original.multiple_of, update.multiple_of
    if old_step != new_step:
        if old_step is None:
            walk.add(K.MULTIPLE_OF_ADDED, "multipleOf")
        elif new_step is None:
            walk.add(K.MULTIPLE_OF_REMOVED, "multipleOf")
        elif (new_step / old_step).denominator == 1:
            walk.add(K.MULTIPLE_OF_EXPANDED, "multipleOf")  # fewer values allowed
        elif (old_step / new_step).denominator == 1:
            walk.add(K.MULTIPLE_OF_REDUCED, "multipleOf")  # every old value still allowed
        else:
            walk.add(K.MULTIPLE_OF_CHANGED, "multipleOf")
    if original.integer and not update.integer:
        walk.add(K.TYPE_EXTENDED)  # integer -> number widens
    elif update.integer and not original.integer:
        walk.add(K.TYPE_NARROWED)


def _compare_enum(walk: _Walk, original: m.Enum, update: m.Enum) -> None:
    if original.values == update.values:
        return
    if update.values >= original.values:
        walk.add(K.ENUM_ARRAY_EXTENDED, "enum")
    elif original.values >= update.values:
        walk.add(K.ENUM_ARRAY_NARROWED, "enum")
    else:
        walk.add(K.ENUM_ARRAY_CHANGED, "enum")


def _compare_const(walk: _Walk, original: m.Const, update: m.Const) -> None:
    if original.value != update.value:
        walk.add(K.ENUM_ARRAY_CHANGED, "const")


def _compare_not(walk: _Walk, original: m.Not, update: m.Not) -> None:
    with walk.at("not"):
        trial = walk.branch()
        # Negation flips the direction: the new "not" must exclude no more than the old one.
        _compare(trial, update.negated, original.negated)
        walk.add(K.NOT_TYPE_NARROWED if trial.compatible else K.NOT_TYPE_EXTENDED)


def _unique_members(schema: m.Combined) -> list[m.Schema]:
    seen: dict[str, m.Schema] = {}
    for member in schema.subschemas:
        seen.setdefault(member.key, member)
    return list(seen.values())


def _criterion_change(original: m.Combined, update: m.Combined) -> ChangeKind | None:
    if original.criterion == update.criterion:
        return None
    if update.criterion == "anyOf":
        return K.COMBINED_TYPE_EXTENDED  # allOf/oneOf -> anyOf accepts at least as much
    if update.criterion == "oneOf" and (len(original.subschemas) == 1 or len(update.subschemas) == 1):
        return K.COMBINED_TYPE_EXTENDED  # with one member, oneOf and anyOf accept the same
    if update.criterion == "allOf" and len(original.subschemas) == 1 and len(update.subschemas) == 1:
        return K.COMBINED_TYPE_EXTENDED
    return K.COMBINED_TYPE_CHANGED


def _compare_combined(walk: _Walk, original: m.Combined, update: m.Combined) -> None:
    criterion_change = _criterion_change(original, update)
    if criterion_change is not None:
        walk.add(criterion_change)
        if criterion_change == K.COMBINED_TYPE_CHANGED:
            return
    old_members, new_members = _unique_members(original), _unique_members(update)
    # More conjuncts in the new allOf restrict, more alternatives in a new union relax; fewer
    # conjuncts in the old allOf relax, fewer alternatives of an old union restrict.
    if len(old_members) < len(new_members):
        walk.add(K.PRODUCT_TYPE_EXTENDED if update.criterion == "allOf" else K.SUM_TYPE_EXTENDED)
    elif len(old_members) > len(new_members):
        walk.add(K.PRODUCT_TYPE_NARROWED if original.criterion == "allOf" else K.SUM_TYPE_NARROWED)

    # Pair old and new members so that as many pairs as possible are compatible (a maximum
    # bipartite matching): member order must not matter.
    edges: dict[tuple[int, int], _Walk] = {}
    for i, old in enumerate(old_members):
        with walk.at(original.criterion, str(i)):
            for j, new in enumerate(new_members):
                trial = walk.branch()
                _compare(trial, old, new)
                if trial.compatible:
                    edges[(i, j)] = trial
    weights = {pair: len(trial.found) for pair, trial in edges.items()}
    matching = _maximum_matching(len(old_members), weights)
    for pair in sorted(matching):
        walk.extend(edges[pair])
    if len(matching) < min(len(old_members), len(new_members)):
        walk.add(K.COMBINED_TYPE_SUBSCHEMAS_CHANGED)


def _maximum_matching(left: int, edges: dict[tuple[int, int], int]) -> set[tuple[int, int]]:
    """A maximum bipartite matching over ``edges`` (pair -> number of differences).

    Augmenting paths (Kuhn's algorithm) are tried in order of fewest differences, then index,
    so the result is deterministic and pairs identical members with each other when it can.
    """
    options: dict[int, list[int]] = {}
    for i in range(left):
        # sorted() calls the key before i moves on, so the closure sees the right i.
        options[i] = sorted((j for (a, j) in edges if a == i), key=lambda j: (edges[(i, j)], j))
    owner: dict[int, int] = {}  # right index -> left index

    def augment(i: int, visited: set[int]) -> bool:
        for j in options[i]:
            if j in visited:
                continue
            visited.add(j)
            if j not in owner or augment(owner[j], visited):
                owner[j] = i
                return True
        return False

    for i in range(left):
        augment(i, set())
    return {(i, j) for j, i in owner.items()}


def _partial_schema(schema: m.Object, name: str) -> m.Schema | None:
    """The schema a property name would fall under via patternProperties or additionalProperties."""
    for pattern, sub in schema.pattern_properties.items():
        try:
            if re.search(pattern, name):
                return sub
        except re.error:
            continue
    return schema.additional


def _object_is_open(schema: m.Object) -> bool:
    return not schema.pattern_properties and schema.additional is None and schema.permits_additional


def _compare_object(walk: _Walk, original: m.Object, update: m.Object) -> None:
    _compare_required(walk, original, update)
    _compare_properties(walk, original, update)
    _compare_dependencies(walk, original, update)
    _compare_additional_properties(walk, original, update)
    _bound(walk, "maxProperties", original.max_properties, update.max_properties)
    _bound(walk, "minProperties", original.min_properties, update.min_properties)


def _compare_required(walk: _Walk, original: m.Object, update: m.Object) -> None:
    for name in original.properties:
        if name not in update.properties:
            continue
        was, now = name in original.required, name in update.required
        if was and not now:
            walk.add(K.REQUIRED_ATTRIBUTE_REMOVED, "required", _escape(name))
        elif now and not was:
            kind = (
                K.REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED
                if update.properties[name].has_default
                else K.REQUIRED_ATTRIBUTE_ADDED
            )
            walk.add(kind, "required", _escape(name))


def _compare_properties(walk: _Walk, original: m.Object, update: m.Object) -> None:
    names = list(original.properties) + [n for n in update.properties if n not in original.properties]
    for name in names:
        old, new = original.properties.get(name), update.properties.get(name)
        with walk.at("properties", _escape(name)):
            if new is None and old is not None:
                _property_removed(walk, old, update, name)
            elif old is None and new is not None:
                _property_added(walk, original, update, new, name)
            else:
                _compare(walk, old, new)


def _property_removed(walk: _Walk, old: m.Schema, update: m.Object, name: str) -> None:
    # Only the new content model matters: can it still read a document that has this property?
    if _object_is_open(update):
        walk.add(K.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL)
        return
    covering = _partial_schema(update, name)
    if covering is not None:
        trial = walk.branch()
        _compare(trial, old, covering)
        walk.extend(trial)
        walk.add(
            K.PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if trial.compatible
            else K.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    elif isinstance(m.deref(old), m.FalseSchema):
        walk.add(K.PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL)
    else:
        walk.add(K.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL)


def _property_added(walk: _Walk, original: m.Object, update: m.Object, new: m.Schema, name: str) -> None:
    # Only the old content model matters: could old documents already carry this property?
    required = name in update.required
    if _object_is_open(original):
        if isinstance(m.deref(new), m.Empty):
            walk.add(K.PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL)
        elif required:
            walk.add(
                K.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL
                if new.has_default
                else K.REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL
            )
        else:
            walk.add(K.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL)
        return
    covering = _partial_schema(original, name)
    if covering is not None:
        trial = walk.branch()
        _compare(trial, covering, new)
        walk.extend(trial)
        walk.add(
            K.PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if trial.compatible
            else K.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    if required:
        walk.add(
            K.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL
            if new.has_default
            else K.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL
        )
    else:
        walk.add(K.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL)


def _compare_dependencies(walk: _Walk, original: m.Object, update: m.Object) -> None:
    with walk.at("dependencies"):
        names = sorted(set(original.property_dependencies) | set(update.property_dependencies))
        for name in names:
            old = original.property_dependencies.get(name)
            new = update.property_dependencies.get(name)
            if new is None:
                walk.add(K.DEPENDENCY_ARRAY_REMOVED, _escape(name))
            elif old is None:
                walk.add(K.DEPENDENCY_ARRAY_ADDED, _escape(name))
            elif old != new:
                if new >= old:
                    walk.add(K.DEPENDENCY_ARRAY_EXTENDED, _escape(name))
                elif old >= new:
                    walk.add(K.DEPENDENCY_ARRAY_NARROWED, _escape(name))
                else:
                    walk.add(K.DEPENDENCY_ARRAY_CHANGED, _escape(name))
        names = sorted(set(original.schema_dependencies) | set(update.schema_dependencies))
        for name in names:
            old_schema = original.schema_dependencies.get(name)
            new_schema = update.schema_dependencies.get(name)
            with walk.at(_escape(name)):
                if new_schema is None:
                    walk.add(K.DEPENDENCY_SCHEMA_REMOVED)
                elif old_schema is None:
                    walk.add(K.DEPENDENCY_SCHEMA_ADDED)
                else:
                    _compare(walk, old_schema, new_schema)


def _compare_additional_properties(walk: _Walk, original: m.Object, update: m.Object) -> None:
    with walk.at("additionalProperties"):
        if original.permits_additional != update.permits_additional:
            walk.add(
                K.ADDITIONAL_PROPERTIES_ADDED
                if update.permits_additional
                else K.ADDITIONAL_PROPERTIES_REMOVED
            )
        elif original.additional is None and update.additional is not None:
            walk.add(K.ADDITIONAL_PROPERTIES_NARROWED)
        elif original.additional is not None and update.additional is None:
            walk.add(K.ADDITIONAL_PROPERTIES_EXTENDED)
        else:
            _compare(walk, original.additional, update.additional)


def _array_is_open(schema: m.Array) -> bool:
    if not schema.permits_additional or schema.additional is not None:
        return False
    return schema.unevaluated is None or isinstance(m.deref(schema.unevaluated), m.Empty)


def _array_partial(schema: m.Array) -> m.Schema | None:
    """The schema that items beyond the tuple fall under, when that is neither true nor false."""
    if schema.additional is not None:
        return schema.additional
    if schema.permits_additional and schema.unevaluated is not None:
        tail = m.deref(schema.unevaluated)
        if not isinstance(tail, m.Empty | m.FalseSchema):
            return tail
    return None


def _compare_array(walk: _Walk, original: m.Array, update: m.Array) -> None:
    with walk.at("items"):
        _compare(walk, original.all_items, update.all_items)
    _compare_tuple(walk, original, update)
    with walk.at("additionalItems"):
        if original.permits_additional != update.permits_additional:
            walk.add(K.ADDITIONAL_ITEMS_REMOVED if original.permits_additional else K.ADDITIONAL_ITEMS_ADDED)
        elif original.additional is None and update.additional is not None:
            walk.add(K.ADDITIONAL_ITEMS_NARROWED)
        elif original.additional is not None and update.additional is None:
            walk.add(K.ADDITIONAL_ITEMS_EXTENDED)
        else:
            _compare(walk, original.additional, update.additional)
    _compare_unevaluated_items(walk, original.unevaluated, update.unevaluated)
    _bound(walk, "maxItems", original.max_items, update.max_items)
    _bound(walk, "minItems", original.min_items, update.min_items)
    if original.unique_items != update.unique_items:
        walk.add(K.UNIQUE_ITEMS_REMOVED if original.unique_items else K.UNIQUE_ITEMS_ADDED, "uniqueItems")
    _bound(walk, "maxContains", original.max_contains, update.max_contains)
    _bound(walk, "minContains", original.min_contains, update.min_contains)


def _compare_unevaluated_items(walk: _Walk, old: m.Schema | None, new: m.Schema | None) -> None:
    if old is None and new is None:
        return
    old_d = m.deref(old) if old is not None else None
    new_d = m.deref(new) if new is not None else None
    with walk.at("unevaluatedItems"):
        if old_d is None:
            walk.add(
                K.UNEVALUATED_ITEMS_REMOVED
                if isinstance(new_d, m.FalseSchema)
                else K.UNEVALUATED_ITEMS_NARROWED
            )
        elif new_d is None:
            walk.add(
                K.UNEVALUATED_ITEMS_ADDED
                if isinstance(old_d, m.FalseSchema)
                else K.UNEVALUATED_ITEMS_EXTENDED
            )
        elif isinstance(old_d, m.FalseSchema) and not isinstance(new_d, m.FalseSchema):
            walk.add(K.UNEVALUATED_ITEMS_ADDED)
        elif not isinstance(old_d, m.FalseSchema) and isinstance(new_d, m.FalseSchema):
            walk.add(K.UNEVALUATED_ITEMS_REMOVED)
        elif isinstance(old_d, m.Empty) and not isinstance(new_d, m.Empty):
            walk.add(K.UNEVALUATED_ITEMS_NARROWED)
        elif not isinstance(old_d, m.Empty) and isinstance(new_d, m.Empty):
            walk.add(K.UNEVALUATED_ITEMS_EXTENDED)
        else:
            _compare(walk, old_d, new_d)


def _compare_tuple(walk: _Walk, original: m.Array, update: m.Array) -> None:
    old_items, new_items = original.item_list, update.item_list
    shared = min(len(old_items), len(new_items))
    for index in range(shared):
        with walk.at("items", str(index)):
            _compare(walk, old_items[index], new_items[index])
    for index in range(shared, len(old_items)):
        with walk.at("items", str(index)):
            _item_removed(walk, old_items[index], update)
    for index in range(shared, len(new_items)):
        with walk.at("items", str(index)):
            _item_added(walk, original, new_items[index])


def _item_removed(walk: _Walk, old: m.Schema, update: m.Array) -> None:
    if _array_is_open(update):
        walk.add(K.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL)
        return
    covering = _array_partial(update)
    if covering is not None:
        trial = walk.branch()
        _compare(trial, old, covering)
        walk.extend(trial)
        walk.add(
            K.ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if trial.compatible
            else K.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    elif isinstance(m.deref(old), m.FalseSchema):
        walk.add(K.ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL)
    else:
        walk.add(K.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL)


def _item_added(walk: _Walk, original: m.Array, new: m.Schema) -> None:
    if _array_is_open(original):
        walk.add(
            K.ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
            if isinstance(m.deref(new), m.Empty)
            else K.ITEM_ADDED_TO_OPEN_CONTENT_MODEL
        )
        return
    covering = _array_partial(original)
    if covering is not None:
        trial = walk.branch()
        _compare(trial, covering, new)
        walk.extend(trial)
        walk.add(
            K.ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if trial.compatible
            else K.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    else:
        walk.add(K.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL)


_COMPARERS: dict[type, Callable[[_Walk, Any, Any], None]] = {
    m.String: _compare_string,
    m.Number: _compare_number,
    m.Enum: _compare_enum,
    m.Const: _compare_const,
    m.Combined: _compare_combined,
    m.Not: _compare_not,
    m.Object: _compare_object,
    m.Array: _compare_array,
}
