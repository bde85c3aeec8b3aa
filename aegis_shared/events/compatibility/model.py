"""The typed model both schemas are read into, and the loader that reads them.

The loader sees a JSON Schema document the way Confluent's JSON Schema provider does:
``{"type": ["string", "null"]}`` is a union, keywords of several type families without a
``type`` become an implicit ``allOf``, and a local ``$ref`` is followed lazily (so recursive
schemas load). Draft 2019-09/2020-12 keywords (``prefixItems``, ``items`` after a prefix,
``$defs``, ``dependentRequired``/``dependentSchemas``, ``unevaluatedProperties``/
``unevaluatedItems``, ``minContains``/``maxContains``) are mapped onto the same classes, so the
rules in :mod:`~aegis_shared.events.compatibility.rules` compare one model whatever the draft.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from aegis_shared.errors import ValidationError

NO_DEFAULT: Any = object()


@dataclass(eq=False)
class Schema:
    key: str  # canonical text of the source; equal keys collapse duplicate union members
    id: str | None = None
    title: str | None = None
    description: str | None = None
    default: Any = NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(eq=False)
class Empty(Schema):
    """``{}`` or ``true``: accepts everything."""


@dataclass(eq=False)
class FalseSchema(Schema):
    """``false``: accepts nothing."""


@dataclass(eq=False)
class Boolean(Schema):
    pass


@dataclass(eq=False)
class Null(Schema):
    pass


@dataclass(eq=False)
class String(Schema):
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(eq=False)
class Number(Schema):
    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    multiple_of: Fraction | None = None


@dataclass(eq=False)
class Object(Schema):
    properties: dict[str, Schema] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    permits_additional: bool = True
    additional: Schema | None = None
    pattern_properties: dict[str, Schema] = field(default_factory=dict)
    property_dependencies: dict[str, frozenset[str]] = field(default_factory=dict)
    schema_dependencies: dict[str, Schema] = field(default_factory=dict)
    min_properties: int | None = None
    max_properties: int | None = None


@dataclass(eq=False)
class Array(Schema):
    all_items: Schema | None = None
    item_list: list[Schema] = field(default_factory=list)
    permits_additional: bool = True
    additional: Schema | None = None
    unevaluated: Schema | None = None
    min_items: int | None = None
    max_items: int | None = None
    unique_items: bool = False
    min_contains: int | None = None
    max_contains: int | None = None


@dataclass(eq=False)
class Enum(Schema):
    values: frozenset[str] = frozenset()  # canonical JSON of each permitted value


@dataclass(eq=False)
class Const(Schema):
    value: str = ""  # canonical JSON


@dataclass(eq=False)
class Combined(Schema):
    criterion: str = "allOf"  # allOf | anyOf | oneOf
    subschemas: list[Schema] = field(default_factory=list)


@dataclass(eq=False)
class Not(Schema):
    negated: Schema | None = None


@dataclass(eq=False)
class Conditional(Schema):
    """if/then/else: compared only by shape, as Confluent does."""


@dataclass(eq=False)
class Ref(Schema):
    resolve: Callable[[], Schema] | None = None


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


def canonical(value: Any) -> str:
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


class Loader:
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
        self._cache: dict[int, Schema] = {}

    def root(self) -> Schema:
        return self.load(self._document, root=True)

    def load(self, raw: Any, *, root: bool = False) -> Schema:
        if raw is True:
            return Empty("true")
        if raw is False:
            return FalseSchema("false")
        if not isinstance(raw, Mapping):
            raise ValidationError(
                "VALID_3012",
                f"the {self._role} schema holds a subschema that is not an object or boolean",
                details={"schema": self._role, "value": canonical(raw)[:200]},
            )
        cached = self._cache.get(id(raw))
        if cached is not None:
            return cached
        schema = self._load_object(raw, root)
        self._cache[id(raw)] = schema
        return schema

    def _load_object(self, raw: Mapping[str, Any], root: bool) -> Schema:
        key = canonical(raw)
        ref = raw.get("$ref")
        if isinstance(ref, str) and not self._new_draft:
            # Before 2019-09 a $ref replaces every sibling keyword.
            return Ref(key, resolve=self._resolver(ref))

        # Each keyword family becomes one part; parts get distinct keys so that an implicit
        # allOf of, say, "type" and "enum" never collapses them as duplicates.
        parts: list[Schema] = []
        if "enum" in raw and isinstance(raw["enum"], list):
            parts.append(Enum(f"{key}#enum", values=frozenset(canonical(v) for v in raw["enum"])))
        for criterion in _COMBINERS:
            if criterion in raw and isinstance(raw[criterion], list):
                subs = [self.load(s) for s in raw[criterion]]
                parts.append(Combined(f"{key}#{criterion}", criterion=criterion, subschemas=subs))
        if "not" in raw:
            parts.append(Not(f"{key}#not", negated=self.load(raw["not"])))
        if "const" in raw:
            parts.append(Const(f"{key}#const", value=canonical(raw["const"])))
        declared = raw.get("type")
        if isinstance(declared, str):
            parts.append(self._typed(declared, raw, f"{key}#type"))
        elif isinstance(declared, list):
            members = [self._typed(str(t), raw, f"{key}#type={t}") for t in declared]
            parts.append(Combined(f"{key}#types", criterion="anyOf", subschemas=members))
        else:
            parts.extend(self._sniff(raw, key))
        if "if" in raw:
            parts.append(Conditional(f"{key}#if"))
        if isinstance(ref, str):
            parts.append(Ref(f"{key}#ref", resolve=self._resolver(ref)))

        if not parts:
            schema: Schema = Empty(key)
        elif len(parts) == 1:
            schema = parts[0]
        else:
            schema = Combined(key, criterion="allOf", subschemas=parts)

        # A 2020-12 root $id becomes the document's base URI, not a schema attribute.
        id_word = raw.get("$id", raw.get("id"))
        if isinstance(id_word, str) and not (root and self._new_draft):
            schema.id = id_word
        if isinstance(raw.get("title"), str):
            schema.title = raw["title"]
        if isinstance(raw.get("description"), str):
            schema.description = raw["description"]
        if "default" in raw:
            schema.default = canonical(raw["default"])
        return schema

    def _sniff(self, raw: Mapping[str, Any], key: str) -> list[Schema]:
        """Without ``type``, each keyword family present implies a (non-required) type."""
        found: list[Schema] = []
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

    def _typed(self, type_name: str, raw: Mapping[str, Any], key: str) -> Schema:
        match type_name:
            case "string":
                return self._string(raw, key)
            case "integer":
                return self._number(raw, key, integer=True)
            case "number":
                return self._number(raw, key, integer=False)
            case "boolean":
                return Boolean(key)
            case "null":
                return Null(key)
            case "object":
                return self._object(raw, key)
            case "array":
                return self._array(raw, key)
        raise ValidationError(
            "VALID_3012",
            f"the {self._role} schema names an unknown type {type_name!r}",
            details={"schema": self._role, "type": type_name},
        )

    def _string(self, raw: Mapping[str, Any], key: str) -> String:
        pattern = raw.get("pattern")
        return String(
            key,
            min_length=_count(raw.get("minLength")),
            max_length=_count(raw.get("maxLength")),
            pattern=pattern if isinstance(pattern, str) else None,
        )

    def _number(self, raw: Mapping[str, Any], key: str, *, integer: bool) -> Number:
        multiple = _number(raw.get("multipleOf"))
        return Number(
            key,
            integer=integer,
            minimum=_number(raw.get("minimum")),
            maximum=_number(raw.get("maximum")),
            exclusive_minimum=_number(raw.get("exclusiveMinimum")),
            exclusive_maximum=_number(raw.get("exclusiveMaximum")),
            # Fractions keep 0.1 exact, so divisibility between two multipleOf values is sound.
            multiple_of=Fraction(str(multiple)) if multiple is not None else None,
        )

    def _object(self, raw: Mapping[str, Any], key: str) -> Object:
        schema = Object(key)
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

    def _array(self, raw: Mapping[str, Any], key: str) -> Array:
        schema = Array(key)
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

    def _resolver(self, ref: str) -> Callable[[], Schema]:
        def resolve() -> Schema:
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


def deref(schema: Schema) -> Schema:
    seen: set[int] = set()
    while isinstance(schema, Ref):
        if id(schema) in seen or schema.resolve is None:
            return Empty(schema.key)  # a $ref cycle with no content constrains nothing
        seen.add(id(schema))
        schema = schema.resolve()
    return schema
