"""JSON Schema compatibility between two versions of an event schema, with Confluent's rules.

The rules are those of Confluent Schema Registry's JSON Schema provider, re-expressed here:
both schemas are first read into a small typed model (the way Confluent's loader sees them:
``{"type": ["string", "null"]}`` is a union, keywords of several type families without a
``type`` become an implicit ``allOf``, ``$ref`` is followed), then the two models are walked
side by side and every difference is recorded with Confluent's name for it (``TYPE_CHANGED``,
``MAX_LENGTH_DECREASED`` …) and the JSON pointer where it happens. A difference is breaking
unless its kind is in :data:`COMPATIBLE_KINDS`.

Direction: ``BACKWARD`` asks whether a reader holding ``candidate`` can read every document
valid under ``previous``; ``FORWARD`` swaps the two; ``FULL`` needs both. Transitive modes are
the same pairwise check; the schema registry applies them against every earlier version.

Draft 2019-09/2020-12 keywords (``prefixItems``, ``items`` after a prefix, ``$defs``,
``dependentRequired``/``dependentSchemas``, ``unevaluatedProperties``/``unevaluatedItems``,
``minContains``/``maxContains``) are mapped onto the same model.

Run ``python -m aegis_shared.events.compatibility --conformance DIR`` to measure agreement
with Confluent's own test corpus.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from aegis_shared.errors import ValidationError


class CompatibilityMode(StrEnum):
    """Confluent's subject compatibility levels."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def is_transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")

    @property
    def checks_backward(self) -> bool:
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def checks_forward(self) -> bool:
        return self.value.startswith(("FORWARD", "FULL"))


def parse_mode(mode: str | CompatibilityMode) -> CompatibilityMode:
    """Return the mode named by ``mode`` (case-insensitive); unknown names are a VALID_3001."""
    try:
        return CompatibilityMode(str(mode).strip().upper())
    except ValueError:
        raise ValidationError(
            "VALID_3001",
            f"unknown compatibility mode {mode!r}",
            details={"mode": str(mode), "allowed": [m.value for m in CompatibilityMode]},
        ) from None


# Confluent's non-breaking change kinds. Everything else found by the walk breaks compatibility.
# Adding an optional property to an *open* content model is breaking (a field of that name
# written under the old schema might have had any type); this is Confluent's strict default.
COMPATIBLE_KINDS: frozenset[str] = frozenset(
    {
        "ID_CHANGED",
        "DESCRIPTION_CHANGED",
        "TITLE_CHANGED",
        "DEFAULT_CHANGED",
        "SCHEMA_REMOVED",
        "TYPE_EXTENDED",
        "MAX_LENGTH_INCREASED",
        "MAX_LENGTH_REMOVED",
        "MIN_LENGTH_DECREASED",
        "MIN_LENGTH_REMOVED",
        "PATTERN_REMOVED",
        "MAXIMUM_INCREASED",
        "MAXIMUM_REMOVED",
        "MINIMUM_DECREASED",
        "MINIMUM_REMOVED",
        "EXCLUSIVE_MAXIMUM_INCREASED",
        "EXCLUSIVE_MAXIMUM_REMOVED",
        "EXCLUSIVE_MINIMUM_DECREASED",
        "EXCLUSIVE_MINIMUM_REMOVED",
        "MULTIPLE_OF_REDUCED",
        "MULTIPLE_OF_REMOVED",
        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
        "REQUIRED_ATTRIBUTE_REMOVED",
        "DEPENDENCY_ARRAY_NARROWED",
        "DEPENDENCY_ARRAY_REMOVED",
        "DEPENDENCY_SCHEMA_REMOVED",
        "MAX_PROPERTIES_INCREASED",
        "MAX_PROPERTIES_REMOVED",
        "MIN_PROPERTIES_DECREASED",
        "MIN_PROPERTIES_REMOVED",
        "ADDITIONAL_PROPERTIES_ADDED",
        "ADDITIONAL_PROPERTIES_EXTENDED",
        "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "UNEVALUATED_PROPERTIES_ADDED",
        "UNEVALUATED_PROPERTIES_EXTENDED",
        "MAX_ITEMS_INCREASED",
        "MAX_ITEMS_REMOVED",
        "MIN_ITEMS_DECREASED",
        "MIN_ITEMS_REMOVED",
        "MAX_CONTAINS_INCREASED",
        "MAX_CONTAINS_REMOVED",
        "MIN_CONTAINS_DECREASED",
        "MIN_CONTAINS_REMOVED",
        "UNIQUE_ITEMS_REMOVED",
        "ADDITIONAL_ITEMS_ADDED",
        "ADDITIONAL_ITEMS_EXTENDED",
        "UNEVALUATED_ITEMS_ADDED",
        "UNEVALUATED_ITEMS_EXTENDED",
        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
        "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ENUM_ARRAY_EXTENDED",
        "COMBINED_TYPE_EXTENDED",
        "PRODUCT_TYPE_NARROWED",
        "SUM_TYPE_EXTENDED",
        "NOT_TYPE_NARROWED",
    }
)


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two schema versions."""

    kind: str
    pointer: str
    breaking: bool
    message: str


@dataclass(frozen=True, slots=True)
class CompatibilityResult:
    """The verdict of :func:`check_compatibility` and every difference behind it."""

    is_compatible: bool
    changes: tuple[Change, ...]
    mode: CompatibilityMode = CompatibilityMode.BACKWARD

    @property
    def breaking_changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.breaking)


def check_compatibility(
    previous: Mapping[str, Any] | bool,
    candidate: Mapping[str, Any] | bool,
    mode: str | CompatibilityMode = "BACKWARD",
) -> CompatibilityResult:
    """Compare ``candidate`` against ``previous`` under ``mode``.

    Raises :class:`ValidationError` ``VALID_3001`` for an unknown mode and ``VALID_3012`` for
    something that is not a JSON Schema (not an object or boolean, or an unresolvable ``$ref``).
    """
    resolved = parse_mode(mode)
    old = _Loader(previous, "previous").root()
    new = _Loader(candidate, "candidate").root()

    if resolved is CompatibilityMode.NONE:
        # Differences are still reported, for information, but nothing is breaking.
        raw = _differences(old, new)
        changes = tuple(Change(k, p, False, _message(k, p, "")) for k, p in raw)
        return CompatibilityResult(True, changes, resolved)

    changes_list: list[Change] = []
    directions: list[tuple[str, _Schema, _Schema]] = []
    if resolved.checks_backward:
        directions.append(("backward", old, new))
    if resolved.checks_forward:
        directions.append(("forward", new, old))
    label_needed = len(directions) > 1
    for name, reader_old, reader_new in directions:
        for kind, pointer in _differences(reader_old, reader_new):
            breaking = kind not in COMPATIBLE_KINDS
            changes_list.append(
                Change(kind, pointer, breaking, _message(kind, pointer, name if label_needed else ""))
            )
    changes = tuple(changes_list)
    return CompatibilityResult(not any(c.breaking for c in changes), changes, resolved)


def _message(kind: str, pointer: str, direction: str) -> str:
    words = kind.replace("_", " ").lower()
    prefix = f"{direction}: " if direction else ""
    verdict = "compatible" if kind in COMPATIBLE_KINDS else "breaking"
    return f"{prefix}{words} at {pointer} ({verdict})"


# --------------------------------------------------------------------------------------------
# The typed model both schemas are read into.
# --------------------------------------------------------------------------------------------

_NO_DEFAULT: Any = object()


@dataclass(eq=False)
class _Schema:
    key: str  # canonical text of the source; equal keys collapse duplicate union members
    id: str | None = None
    title: str | None = None
    description: str | None = None
    default: Any = _NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


@dataclass(eq=False)
class _Empty(_Schema):
    """``{}`` or ``true``: accepts everything."""


@dataclass(eq=False)
class _False(_Schema):
    """``false``: accepts nothing."""


@dataclass(eq=False)
class _Boolean(_Schema):
    pass


@dataclass(eq=False)
class _Null(_Schema):
    pass


@dataclass(eq=False)
class _String(_Schema):
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(eq=False)
class _Number(_Schema):
    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    multiple_of: Fraction | None = None


@dataclass(eq=False)
class _Object(_Schema):
    properties: dict[str, _Schema] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    permits_additional: bool = True
    additional: _Schema | None = None
    pattern_properties: dict[str, _Schema] = field(default_factory=dict)
    property_dependencies: dict[str, frozenset[str]] = field(default_factory=dict)
    schema_dependencies: dict[str, _Schema] = field(default_factory=dict)
    min_properties: int | None = None
    max_properties: int | None = None


@dataclass(eq=False)
class _Array(_Schema):
    all_items: _Schema | None = None
    item_list: list[_Schema] = field(default_factory=list)
    permits_additional: bool = True
    additional: _Schema | None = None
    unevaluated: _Schema | None = None
    min_items: int | None = None
    max_items: int | None = None
    unique_items: bool = False
    min_contains: int | None = None
    max_contains: int | None = None


@dataclass(eq=False)
class _Enum(_Schema):
    values: frozenset[str] = frozenset()  # canonical JSON of each permitted value


@dataclass(eq=False)
class _Const(_Schema):
    value: str = ""  # canonical JSON


@dataclass(eq=False)
class _Combined(_Schema):
    criterion: str = "allOf"  # allOf | anyOf | oneOf
    subschemas: list[_Schema] = field(default_factory=list)


@dataclass(eq=False)
class _Not(_Schema):
    negated: _Schema | None = None


@dataclass(eq=False)
class _Conditional(_Schema):
    """if/then/else: compared only by shape, as Confluent does."""


@dataclass(eq=False)
class _Ref(_Schema):
    resolve: Callable[[], _Schema] | None = None


_NEW_DRAFT_MARKERS = ("2019-09", "2020-12")
_STRING_WORDS = ("minLength", "maxLength", "pattern", "format")
_NUMBER_WORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_OBJECT_WORDS = (
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "dependencies",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
)
_OBJECT_WORDS_NEW = ("dependentRequired", "dependentSchemas", "unevaluatedProperties")
_ARRAY_WORDS = ("items", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains")
_ARRAY_WORDS_NEW = ("prefixItems", "unevaluatedItems", "minContains", "maxContains")
_COMBINERS = ("allOf", "anyOf", "oneOf")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_as_plain)


def _as_plain(value: Any) -> Any:
    # Read-only views (e.g. MappingProxyType) are JSON objects too.
    if isinstance(value, Mapping):
        return dict(value)
    raise ValidationError("VALID_3012", f"a schema holds a non-JSON value of type {type(value).__name__}")


def _number(value: Any) -> float | None:
    # Booleans are draft-4 exclusive flags, not limits; bool is an int subclass so test first.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Loader:
    """Reads one JSON Schema document into the typed model, resolving local ``$ref`` lazily."""

    def __init__(self, document: Any, role: str) -> None:
        if not isinstance(document, Mapping | bool):
            raise ValidationError(
                "VALID_3012",
                f"the {role} schema must be a JSON object or boolean, got {type(document).__name__}",
                details={"schema": role},
            )
        self._document = document
        self._role = role
        schema_uri = document.get("$schema", "") if isinstance(document, Mapping) else ""
        self._new_draft = isinstance(schema_uri, str) and any(m in schema_uri for m in _NEW_DRAFT_MARKERS)
        self._cache: dict[int, _Schema] = {}

    def root(self) -> _Schema:
        return self.load(self._document, root=True)

    def load(self, raw: Any, *, root: bool = False) -> _Schema:
        if raw is True:
            return _Empty("true")
        if raw is False:
            return _False("false")
        if not isinstance(raw, Mapping):
            raise ValidationError(
                "VALID_3012",
                f"the {self._role} schema holds a subschema that is not an object or boolean",
                details={"schema": self._role, "value": _canonical(raw)[:200]},
            )
        cached = self._cache.get(id(raw))
        if cached is not None:
            return cached
        schema = self._load_object(raw, root)
        self._cache[id(raw)] = schema
        return schema

    def _load_object(self, raw: Mapping[str, Any], root: bool) -> _Schema:
        key = _canonical(raw)
        ref = raw.get("$ref")
        if isinstance(ref, str) and not self._new_draft:
            # Before 2019-09 a $ref replaces every sibling keyword.
            return _Ref(key, resolve=self._resolver(ref))

        # Each keyword family becomes one part; parts get distinct keys so that an implicit
        # allOf of, say, "type" and "enum" never collapses them as duplicates.
        parts: list[_Schema] = []
        if "enum" in raw and isinstance(raw["enum"], list):
            parts.append(_Enum(f"{key}#enum", values=frozenset(_canonical(v) for v in raw["enum"])))
        for criterion in _COMBINERS:
            if criterion in raw and isinstance(raw[criterion], list):
                subs = [self.load(s) for s in raw[criterion]]
                parts.append(_Combined(f"{key}#{criterion}", criterion=criterion, subschemas=subs))
        if "not" in raw:
            parts.append(_Not(f"{key}#not", negated=self.load(raw["not"])))
        if "const" in raw:
            parts.append(_Const(f"{key}#const", value=_canonical(raw["const"])))
        declared = raw.get("type")
        if isinstance(declared, str):
            parts.append(self._typed(declared, raw, f"{key}#type"))
        elif isinstance(declared, list):
            members = [self._typed(str(t), raw, f"{key}#type={t}") for t in declared]
            parts.append(_Combined(f"{key}#types", criterion="anyOf", subschemas=members))
        else:
            parts.extend(self._sniff(raw, key))
        if "if" in raw:
            parts.append(_Conditional(f"{key}#if"))
        if isinstance(ref, str):
            parts.append(_Ref(f"{key}#ref", resolve=self._resolver(ref)))

        if not parts:
            schema: _Schema = _Empty(key)
        elif len(parts) == 1:
            schema = parts[0]
        else:
            schema = _Combined(key, criterion="allOf", subschemas=parts)

        # A 2020-12 root $id becomes the document's base URI, not a schema attribute.
        id_word = raw.get("$id", raw.get("id"))
        if isinstance(id_word, str) and not (root and self._new_draft):
            schema.id = id_word
        if isinstance(raw.get("title"), str):
            schema.title = raw["title"]
        if isinstance(raw.get("description"), str):
            schema.description = raw["description"]
        if "default" in raw:
            schema.default = _canonical(raw["default"])
        return schema

    def _sniff(self, raw: Mapping[str, Any], key: str) -> list[_Schema]:
        """Without ``type``, each keyword family present implies a (non-required) type."""
        found: list[_Schema] = []
        object_words = _OBJECT_WORDS + (_OBJECT_WORDS_NEW if self._new_draft else ())
        array_words = _ARRAY_WORDS + (_ARRAY_WORDS_NEW if self._new_draft else ())
        if any(w in raw for w in object_words):
            found.append(self._object(raw, f"{key}#object"))
        if any(w in raw for w in array_words):
            found.append(self._array(raw, f"{key}#array"))
        if any(w in raw for w in _NUMBER_WORDS):
            found.append(self._number(raw, f"{key}#number", integer=False))
        if any(w in raw for w in _STRING_WORDS):
            found.append(self._string(raw, f"{key}#string"))
        return found

    def _typed(self, type_name: str, raw: Mapping[str, Any], key: str) -> _Schema:
        match type_name:
            case "string":
                return self._string(raw, key)
            case "integer":
                return self._number(raw, key, integer=True)
            case "number":
                return self._number(raw, key, integer=False)
            case "boolean":
                return _Boolean(key)
            case "null":
                return _Null(key)
            case "object":
                return self._object(raw, key)
            case "array":
                return self._array(raw, key)
        raise ValidationError(
            "VALID_3012",
            f"the {self._role} schema names an unknown type {type_name!r}",
            details={"schema": self._role, "type": type_name},
        )

    def _string(self, raw: Mapping[str, Any], key: str) -> _String:
        pattern = raw.get("pattern")
        return _String(
            key,
            min_length=_count(raw.get("minLength")),
            max_length=_count(raw.get("maxLength")),
            pattern=pattern if isinstance(pattern, str) else None,
        )

    def _number(self, raw: Mapping[str, Any], key: str, *, integer: bool) -> _Number:
        multiple = _number(raw.get("multipleOf"))
        return _Number(
            key,
            integer=integer,
            minimum=_number(raw.get("minimum")),
            maximum=_number(raw.get("maximum")),
            exclusive_minimum=_number(raw.get("exclusiveMinimum")),
            exclusive_maximum=_number(raw.get("exclusiveMaximum")),
            # Fractions keep 0.1 exact, so divisibility between two multipleOf values is sound.
            multiple_of=Fraction(str(multiple)) if multiple is not None else None,
        )

    def _object(self, raw: Mapping[str, Any], key: str) -> _Object:
        schema = _Object(key)
        props = raw.get("properties")
        if isinstance(props, Mapping):
            schema.properties = {name: self.load(sub) for name, sub in props.items()}
        required = raw.get("required")
        if isinstance(required, list):
            schema.required = tuple(str(r) for r in required)
        additional = raw.get("additionalProperties")
        if additional is None and self._new_draft:
            # unevaluatedProperties closes or partially opens the model the same way.
            additional = raw.get("unevaluatedProperties")
        if isinstance(additional, bool):
            schema.permits_additional = additional
        elif additional is not None:
            schema.additional = self.load(additional)
        patterns = raw.get("patternProperties")
        if isinstance(patterns, Mapping):
            schema.pattern_properties = {p: self.load(sub) for p, sub in patterns.items()}
        dependencies: dict[str, Any] = {}
        if isinstance(raw.get("dependencies"), Mapping):
            dependencies.update(raw["dependencies"])
        if self._new_draft:
            for word in ("dependentRequired", "dependentSchemas"):
                if isinstance(raw.get(word), Mapping):
                    dependencies.update(raw[word])
        for name, dep in dependencies.items():
            if isinstance(dep, list):
                schema.property_dependencies[name] = frozenset(str(d) for d in dep)
            else:
                schema.schema_dependencies[name] = self.load(dep)
        schema.min_properties = _count(raw.get("minProperties"))
        schema.max_properties = _count(raw.get("maxProperties"))
        return schema

    def _array(self, raw: Mapping[str, Any], key: str) -> _Array:
        schema = _Array(key)
        items = raw.get("items")
        if self._new_draft and isinstance(raw.get("prefixItems"), list):
            schema.item_list = [self.load(s) for s in raw["prefixItems"]]
            tail = items  # after a prefix, "items" plays the role of draft-7 additionalItems
        else:
            if isinstance(items, list):
                schema.item_list = [self.load(s) for s in items]
            elif items is not None:
                schema.all_items = self.load(items)
            tail = raw.get("additionalItems")
        if isinstance(tail, bool):
            schema.permits_additional = tail
        elif tail is not None:
            schema.additional = self.load(tail)
        if self._new_draft and "unevaluatedItems" in raw:
            schema.unevaluated = self.load(raw["unevaluatedItems"])
        schema.min_items = _count(raw.get("minItems"))
        schema.max_items = _count(raw.get("maxItems"))
        schema.unique_items = raw.get("uniqueItems") is True
        if self._new_draft and "contains" in raw:
            # minContains defaults to 1 whenever contains is present.
            schema.min_contains = _count(raw.get("minContains", 1))
            schema.max_contains = _count(raw.get("maxContains"))
        return schema

    def _resolver(self, ref: str) -> Callable[[], _Schema]:
        def resolve() -> _Schema:
            return self.load(self._pointer(ref))

        return resolve

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValidationError(
                "VALID_3012",
                f"the {self._role} schema has a non-local $ref {ref!r}; only local references resolve",
                details={"schema": self._role, "ref": ref},
            )
        node: Any = self._document
        fragment = ref[1:].lstrip("/")
        for token in fragment.split("/") if fragment else []:
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise ValidationError(
                    "VALID_3012",
                    f"the {self._role} schema's $ref {ref!r} points at nothing",
                    details={"schema": self._role, "ref": ref},
                )
        return node


# --------------------------------------------------------------------------------------------
# The side-by-side walk.
# --------------------------------------------------------------------------------------------


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Walk:
    """Collects differences under a JSON pointer; sub-walks try a branch without committing."""

    def __init__(self, path: list[str] | None = None, active: set[tuple[int, int]] | None = None) -> None:
        self.path: list[str] = list(path or [])
        self.found: list[tuple[str, str]] = []
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

    def add(self, kind: str, *tokens: str) -> None:
        self.found.append((kind, "#/" + "/".join(self.path + list(tokens))))

    def extend(self, other: _Walk) -> None:
        self.found.extend(other.found)


def _differences(original: _Schema, update: _Schema) -> list[tuple[str, str]]:
    walk = _Walk()
    _compare(walk, original, update)
    return walk.found


def _deref(schema: _Schema) -> _Schema:
    seen: set[int] = set()
    while isinstance(schema, _Ref):
        if id(schema) in seen or schema.resolve is None:
            return _Empty(schema.key)  # a $ref cycle with no content constrains nothing
        seen.add(id(schema))
        schema = schema.resolve()
    return schema


def _compare(walk: _Walk, original: _Schema | None, update: _Schema | None) -> None:
    if original is None and update is None:
        return
    if original is None:
        walk.add("SCHEMA_ADDED")
        return
    if update is None:
        walk.add("SCHEMA_REMOVED")
        return
    original, update = _deref(original), _deref(update)

    if not isinstance(original, _Combined) and isinstance(update, _Combined):
        if _union_absorbs(walk, original, update):
            return
    elif isinstance(original, _Combined) and not isinstance(update, _Combined):
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
        if isinstance(original, _False) or isinstance(update, _Empty):
            return
        walk.add("TYPE_CHANGED")
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


def _union_absorbs(walk: _Walk, original: _Schema, update: _Combined) -> bool:
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
                walk.add("SUM_TYPE_EXTENDED")
                return True
    return False


def _as_product(schema: _Schema) -> _Combined:
    """Wrap ``schema`` as a one-member allOf that carries its annotations."""
    member = replace(schema, id=None, title=None, description=None, default=_NO_DEFAULT)
    return _Combined(
        schema.key,
        id=schema.id,
        title=schema.title,
        description=schema.description,
        default=schema.default,
        criterion="allOf",
        subschemas=[member],
    )


def _compare_annotations(walk: _Walk, original: _Schema, update: _Schema) -> None:
    if original.id != update.id:
        walk.add("ID_CHANGED")
    if original.title != update.title:
        walk.add("TITLE_CHANGED")
    if original.description != update.description:
        walk.add("DESCRIPTION_CHANGED")
    if original.default != update.default:
        walk.add("DEFAULT_CHANGED")


def _compare_nothing(walk: _Walk, original: Any, update: Any) -> None:
    return None


def _bound(
    walk: _Walk, word: str, stem: str, old: float | Fraction | None, new: float | Fraction | None
) -> None:
    """Report a numeric keyword added, removed, increased or decreased."""
    if old == new:
        return
    if old is None:
        walk.add(f"{stem}_ADDED", word)
    elif new is None:
        walk.add(f"{stem}_REMOVED", word)
    elif old < new:
        walk.add(f"{stem}_INCREASED", word)
    else:
        walk.add(f"{stem}_DECREASED", word)


def _compare_string(walk: _Walk, original: _String, update: _String) -> None:
    _bound(walk, "maxLength", "MAX_LENGTH", original.max_length, update.max_length)
    _bound(walk, "minLength", "MIN_LENGTH", original.min_length, update.min_length)
    if original.pattern is None and update.pattern is not None:
        walk.add("PATTERN_ADDED", "pattern")
    elif original.pattern is not None and update.pattern is None:
        walk.add("PATTERN_REMOVED", "pattern")
    elif original.pattern != update.pattern:
        walk.add("PATTERN_CHANGED", "pattern")


def _compare_number(walk: _Walk, original: _Number, update: _Number) -> None:
    _bound(walk, "maximum", "MAXIMUM", original.maximum, update.maximum)
    _bound(walk, "minimum", "MINIMUM", original.minimum, update.minimum)
    _bound(
        walk, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM", original.exclusive_maximum, update.exclusive_maximum
    )
    _bound(
        walk, "exclusiveMinimum", "EXCLUSIVE_MINIMUM", original.exclusive_minimum, update.exclusive_minimum
    )
    old_step, new_step = original.multiple_of, update.multiple_of
    if old_step != new_step:
        if old_step is None:
            walk.add("MULTIPLE_OF_ADDED", "multipleOf")
        elif new_step is None:
            walk.add("MULTIPLE_OF_REMOVED", "multipleOf")
        elif (new_step / old_step).denominator == 1:
            walk.add("MULTIPLE_OF_EXPANDED", "multipleOf")  # fewer values allowed
        elif (old_step / new_step).denominator == 1:
            walk.add("MULTIPLE_OF_REDUCED", "multipleOf")  # every old value still allowed
        else:
            walk.add("MULTIPLE_OF_CHANGED", "multipleOf")
    if original.integer and not update.integer:
        walk.add("TYPE_EXTENDED")  # integer -> number widens
    elif update.integer and not original.integer:
        walk.add("TYPE_NARROWED")


def _compare_enum(walk: _Walk, original: _Enum, update: _Enum) -> None:
    if original.values == update.values:
        return
    if update.values >= original.values:
        walk.add("ENUM_ARRAY_EXTENDED", "enum")
    elif original.values >= update.values:
        walk.add("ENUM_ARRAY_NARROWED", "enum")
    else:
        walk.add("ENUM_ARRAY_CHANGED", "enum")


def _compare_const(walk: _Walk, original: _Const, update: _Const) -> None:
    if original.value != update.value:
        walk.add("ENUM_ARRAY_CHANGED", "const")


def _compare_not(walk: _Walk, original: _Not, update: _Not) -> None:
    with walk.at("not"):
        trial = walk.branch()
        # Negation flips the direction: the new "not" must exclude no more than the old one.
        _compare(trial, update.negated, original.negated)
        walk.add("NOT_TYPE_NARROWED" if trial.compatible else "NOT_TYPE_EXTENDED")


def _unique_members(schema: _Combined) -> list[_Schema]:
    seen: dict[str, _Schema] = {}
    for member in schema.subschemas:
        seen.setdefault(member.key, member)
    return list(seen.values())


def _criterion_change(original: _Combined, update: _Combined) -> str | None:
    if original.criterion == update.criterion:
        return None
    if update.criterion == "anyOf":
        return "COMBINED_TYPE_EXTENDED"  # allOf/oneOf -> anyOf accepts at least as much
    if update.criterion == "oneOf" and (len(original.subschemas) == 1 or len(update.subschemas) == 1):
        return "COMBINED_TYPE_EXTENDED"  # with one member, oneOf and anyOf accept the same
    if update.criterion == "allOf" and len(original.subschemas) == 1 and len(update.subschemas) == 1:
        return "COMBINED_TYPE_EXTENDED"
    return "COMBINED_TYPE_CHANGED"


def _compare_combined(walk: _Walk, original: _Combined, update: _Combined) -> None:
    criterion_change = _criterion_change(original, update)
    if criterion_change is not None:
        walk.add(criterion_change)
        if criterion_change == "COMBINED_TYPE_CHANGED":
            return
    old_members, new_members = _unique_members(original), _unique_members(update)
    # More conjuncts in the new allOf restrict, more alternatives in a new union relax; fewer
    # conjuncts in the old allOf relax, fewer alternatives of an old union restrict.
    if len(old_members) < len(new_members):
        walk.add("PRODUCT_TYPE_EXTENDED" if update.criterion == "allOf" else "SUM_TYPE_EXTENDED")
    elif len(old_members) > len(new_members):
        walk.add("PRODUCT_TYPE_NARROWED" if original.criterion == "allOf" else "SUM_TYPE_NARROWED")

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
        walk.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED")


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


def _partial_schema(schema: _Object, name: str) -> _Schema | None:
    """The schema a property name would fall under via patternProperties or additionalProperties."""
    for pattern, sub in schema.pattern_properties.items():
        try:
            if re.search(pattern, name):
                return sub
        except re.error:
            continue
    return schema.additional


def _object_is_open(schema: _Object) -> bool:
    return not schema.pattern_properties and schema.additional is None and schema.permits_additional


def _compare_object(walk: _Walk, original: _Object, update: _Object) -> None:
    _compare_required(walk, original, update)
    _compare_properties(walk, original, update)
    _compare_dependencies(walk, original, update)
    _compare_additional_properties(walk, original, update)
    _bound(walk, "maxProperties", "MAX_PROPERTIES", original.max_properties, update.max_properties)
    _bound(walk, "minProperties", "MIN_PROPERTIES", original.min_properties, update.min_properties)


def _compare_required(walk: _Walk, original: _Object, update: _Object) -> None:
    for name in original.properties:
        if name not in update.properties:
            continue
        was, now = name in original.required, name in update.required
        if was and not now:
            walk.add("REQUIRED_ATTRIBUTE_REMOVED", "required", _escape(name))
        elif now and not was:
            kind = (
                "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
                if update.properties[name].has_default
                else "REQUIRED_ATTRIBUTE_ADDED"
            )
            walk.add(kind, "required", _escape(name))


def _compare_properties(walk: _Walk, original: _Object, update: _Object) -> None:
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


def _property_removed(walk: _Walk, old: _Schema, update: _Object, name: str) -> None:
    # Only the new content model matters: can it still read a document that has this property?
    if _object_is_open(update):
        walk.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL")
        return
    covering = _partial_schema(update, name)
    if covering is not None:
        trial = walk.branch()
        _compare(trial, old, covering)
        walk.extend(trial)
        walk.add(
            "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            if trial.compatible
            else "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        )
    elif isinstance(_deref(old), _False):
        walk.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
    else:
        walk.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")


def _property_added(walk: _Walk, original: _Object, update: _Object, new: _Schema, name: str) -> None:
    # Only the old content model matters: could old documents already carry this property?
    required = name in update.required
    if _object_is_open(original):
        if isinstance(_deref(new), _Empty):
            walk.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
        elif required:
            walk.add(
                "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL"
                if new.has_default
                else "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
            )
        else:
            walk.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
        return
    covering = _partial_schema(original, name)
    if covering is not None:
        trial = walk.branch()
        _compare(trial, covering, new)
        walk.extend(trial)
        walk.add(
            "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            if trial.compatible
            else "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        )
    if required:
        walk.add(
            "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
            if new.has_default
            else "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
        )
    else:
        walk.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")


def _compare_dependencies(walk: _Walk, original: _Object, update: _Object) -> None:
    with walk.at("dependencies"):
        names = sorted(set(original.property_dependencies) | set(update.property_dependencies))
        for name in names:
            old = original.property_dependencies.get(name)
            new = update.property_dependencies.get(name)
            if new is None:
                walk.add("DEPENDENCY_ARRAY_REMOVED", _escape(name))
            elif old is None:
                walk.add("DEPENDENCY_ARRAY_ADDED", _escape(name))
            elif old != new:
                if new >= old:
                    walk.add("DEPENDENCY_ARRAY_EXTENDED", _escape(name))
                elif old >= new:
                    walk.add("DEPENDENCY_ARRAY_NARROWED", _escape(name))
                else:
                    walk.add("DEPENDENCY_ARRAY_CHANGED", _escape(name))
        names = sorted(set(original.schema_dependencies) | set(update.schema_dependencies))
        for name in names:
            old_schema = original.schema_dependencies.get(name)
            new_schema = update.schema_dependencies.get(name)
            with walk.at(_escape(name)):
                if new_schema is None:
                    walk.add("DEPENDENCY_SCHEMA_REMOVED")
                elif old_schema is None:
                    walk.add("DEPENDENCY_SCHEMA_ADDED")
                else:
                    _compare(walk, old_schema, new_schema)


def _compare_additional_properties(walk: _Walk, original: _Object, update: _Object) -> None:
    with walk.at("additionalProperties"):
        if original.permits_additional != update.permits_additional:
            walk.add(
                "ADDITIONAL_PROPERTIES_ADDED"
                if update.permits_additional
                else "ADDITIONAL_PROPERTIES_REMOVED"
            )
        elif original.additional is None and update.additional is not None:
            walk.add("ADDITIONAL_PROPERTIES_NARROWED")
        elif original.additional is not None and update.additional is None:
            walk.add("ADDITIONAL_PROPERTIES_EXTENDED")
        else:
            _compare(walk, original.additional, update.additional)


def _array_is_open(schema: _Array) -> bool:
    if not schema.permits_additional or schema.additional is not None:
        return False
    return schema.unevaluated is None or isinstance(_deref(schema.unevaluated), _Empty)


def _array_partial(schema: _Array) -> _Schema | None:
    """The schema that items beyond the tuple fall under, when that is neither true nor false."""
    if schema.additional is not None:
        return schema.additional
    if schema.permits_additional and schema.unevaluated is not None:
        tail = _deref(schema.unevaluated)
        if not isinstance(tail, _Empty | _False):
            return tail
    return None


def _compare_array(walk: _Walk, original: _Array, update: _Array) -> None:
    with walk.at("items"):
        _compare(walk, original.all_items, update.all_items)
    _compare_tuple(walk, original, update)
    with walk.at("additionalItems"):
        if original.permits_additional != update.permits_additional:
            walk.add("ADDITIONAL_ITEMS_REMOVED" if original.permits_additional else "ADDITIONAL_ITEMS_ADDED")
        elif original.additional is None and update.additional is not None:
            walk.add("ADDITIONAL_ITEMS_NARROWED")
        elif original.additional is not None and update.additional is None:
            walk.add("ADDITIONAL_ITEMS_EXTENDED")
        else:
            _compare(walk, original.additional, update.additional)
    _compare_unevaluated_items(walk, original.unevaluated, update.unevaluated)
    _bound(walk, "maxItems", "MAX_ITEMS", original.max_items, update.max_items)
    _bound(walk, "minItems", "MIN_ITEMS", original.min_items, update.min_items)
    if original.unique_items != update.unique_items:
        walk.add("UNIQUE_ITEMS_REMOVED" if original.unique_items else "UNIQUE_ITEMS_ADDED", "uniqueItems")
    _bound(walk, "maxContains", "MAX_CONTAINS", original.max_contains, update.max_contains)
    _bound(walk, "minContains", "MIN_CONTAINS", original.min_contains, update.min_contains)


def _compare_unevaluated_items(walk: _Walk, old: _Schema | None, new: _Schema | None) -> None:
    if old is None and new is None:
        return
    old_d = _deref(old) if old is not None else None
    new_d = _deref(new) if new is not None else None
    with walk.at("unevaluatedItems"):
        if old_d is None:
            walk.add(
                "UNEVALUATED_ITEMS_REMOVED" if isinstance(new_d, _False) else "UNEVALUATED_ITEMS_NARROWED"
            )
        elif new_d is None:
            walk.add("UNEVALUATED_ITEMS_ADDED" if isinstance(old_d, _False) else "UNEVALUATED_ITEMS_EXTENDED")
        elif isinstance(old_d, _False) and not isinstance(new_d, _False):
            walk.add("UNEVALUATED_ITEMS_ADDED")
        elif not isinstance(old_d, _False) and isinstance(new_d, _False):
            walk.add("UNEVALUATED_ITEMS_REMOVED")
        elif isinstance(old_d, _Empty) and not isinstance(new_d, _Empty):
            walk.add("UNEVALUATED_ITEMS_NARROWED")
        elif not isinstance(old_d, _Empty) and isinstance(new_d, _Empty):
            walk.add("UNEVALUATED_ITEMS_EXTENDED")
        else:
            _compare(walk, old_d, new_d)


def _compare_tuple(walk: _Walk, original: _Array, update: _Array) -> None:
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


def _item_removed(walk: _Walk, old: _Schema, update: _Array) -> None:
    if _array_is_open(update):
        walk.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL")
        return
    covering = _array_partial(update)
    if covering is not None:
        trial = walk.branch()
        _compare(trial, old, covering)
        walk.extend(trial)
        walk.add(
            "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            if trial.compatible
            else "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        )
    elif isinstance(_deref(old), _False):
        walk.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
    else:
        walk.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL")


def _item_added(walk: _Walk, original: _Array, new: _Schema) -> None:
    if _array_is_open(original):
        walk.add(
            "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
            if isinstance(_deref(new), _Empty)
            else "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
        )
        return
    covering = _array_partial(original)
    if covering is not None:
        trial = walk.branch()
        _compare(trial, covering, new)
        walk.extend(trial)
        walk.add(
            "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            if trial.compatible
            else "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        )
    else:
        walk.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL")


_COMPARERS: dict[type, Callable[[_Walk, Any, Any], None]] = {
    _String: _compare_string,
    _Number: _compare_number,
    _Enum: _compare_enum,
    _Const: _compare_const,
    _Combined: _compare_combined,
    _Not: _compare_not,
    _Object: _compare_object,
    _Array: _compare_array,
}


# --------------------------------------------------------------------------------------------
# Conformance against Confluent's own corpus.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConformanceReport:
    """How many corpus cases this checker decides the way Confluent does."""

    total: int
    agreed: int
    disagreements: tuple[str, ...]

    @property
    def summary(self) -> str:
        return f"agree {self.agreed}/{self.total}"


def run_conformance(directory: Path) -> ConformanceReport:
    """Run every case in the ``*.json`` files of ``directory`` under BACKWARD compatibility.

    Each case holds ``original_schema``, ``update_schema`` and Confluent's ``compatible``
    verdict; a case whose schemas this checker rejects counts as a disagreement.
    """
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise ValidationError(
            "VALID_3001",
            f"no conformance case files (*.json) in {directory}",
            details={"dir": str(directory)},
        )
    total = agreed = 0
    disagreements: list[str] = []
    for path in files:
        for index, case in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            total += 1
            label = f"{path.name}[{index}] {case.get('description', '')}"
            try:
                verdict = check_compatibility(case["original_schema"], case["update_schema"]).is_compatible
            except ValidationError as exc:
                disagreements.append(f"{label}: error {exc.code} {exc.message}")
                continue
            if verdict == bool(case["compatible"]):
                agreed += 1
            else:
                disagreements.append(f"{label}: expected compatible={case['compatible']}, got {verdict}")
    return ConformanceReport(total, agreed, tuple(disagreements))


def main(argv: list[str] | None = None) -> int:
    """``python -m aegis_shared.events.compatibility --conformance DIR``."""
    parser = argparse.ArgumentParser(prog="python -m aegis_shared.events.compatibility")
    parser.add_argument("--conformance", type=Path, required=True, help="directory of Confluent case files")
    args = parser.parse_args(argv)
    report = run_conformance(args.conformance)
    print(report.summary)
    for line in report.disagreements:
        print(f"  disagree: {line}")
    return 0 if report.agreed == report.total else 1


if __name__ == "__main__":
    sys.exit(main())
