"""The central error-code registry, read from ``codes.toml`` beside this module.

A code is ``PREFIX_NNNN``: the prefix names its category (AUTH, AUTHZ, VALID, DB, EXT, BIZ, SYS,
DP) and the number falls in one of the category's ranges (the data pipeline's DP codes have
four families: collection, validation, sync, processing). Each code has an HTTP status, an
English message, a Korean message for end users and a resolution for operators, which is
logged with every failure that carries the code (:mod:`aegis_shared.logging`).

The table is data, not code: ``codes.toml`` holds one line per code and the categories with
their ranges, and ships in the wheel (read with :mod:`importlib.resources`). It is checked when
this module is imported, so a code outside its ranges or a missing field fails at once with the
code and the reason; a test proves every code used in the codebase is registered.
``docs/errors.md`` is the table rendered for readers (``python -m aegis_shared.errors.docs``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Any

DATA_FILE = "codes.toml"
_CODE = re.compile(r"^(?P<prefix>[A-Z]+)_(?P<number>\d{4})$")
_FIELDS = frozenset({"http", "message", "user_message", "resolution"})


class ErrorCategory(StrEnum):
    """The code prefixes; their titles and ranges are in ``codes.toml``."""

    AUTH = "AUTH"
    AUTHZ = "AUTHZ"
    VALID = "VALID"
    DB = "DB"
    EXT = "EXT"
    BIZ = "BIZ"
    SYS = "SYS"
    DP = "DP"


@dataclass(frozen=True, slots=True)
class CodeRange:
    """Numbers ``first`` to ``last`` (inclusive) of a category, optionally one named family."""

    first: int
    last: int
    family: str | None = None

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.first <= number <= self.last


@dataclass(frozen=True, slots=True)
class CategoryDefinition:
    category: ErrorCategory
    title: str
    ranges: tuple[CodeRange, ...]

    def range_of(self, number: int) -> CodeRange | None:
        return next((r for r in self.ranges if number in r), None)


@dataclass(frozen=True, slots=True)
class ErrorDefinition:
    code: str
    category: ErrorCategory
    message: str
    http_status: int
    user_message: str
    resolution: str


class RegistryDataError(ValueError):
    """``codes.toml`` is malformed; the message names the code (or category) and the reason."""


@dataclass(frozen=True, slots=True)
class Registry:
    categories: Mapping[ErrorCategory, CategoryDefinition]
    codes: Mapping[str, ErrorDefinition]


def _text(where: str, row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise RegistryDataError(f"{where}: {name!r} must be a non-empty string")
    return value


def _categories(raw: Any) -> dict[ErrorCategory, CategoryDefinition]:
    if not isinstance(raw, Mapping):
        raise RegistryDataError("[categories] is missing")
    if set(raw) != {c.value for c in ErrorCategory}:
        raise RegistryDataError(
            f"[categories] must list exactly {sorted(c.value for c in ErrorCategory)}, got {sorted(raw)}"
        )
    found: dict[ErrorCategory, CategoryDefinition] = {}
    for name, row in raw.items():
        where = f"category {name}"
        ranges: list[CodeRange] = []
        for item in row.get("ranges") or []:
            first, last = item.get("first"), item.get("last")
            if not (isinstance(first, int) and isinstance(last, int) and 0 <= first <= last <= 9999):
                raise RegistryDataError(f"{where}: range {item} needs 0 <= first <= last <= 9999")
            ranges.append(CodeRange(first, last, item.get("family")))
        if not ranges:
            raise RegistryDataError(f"{where}: no ranges")
        found[ErrorCategory(name)] = CategoryDefinition(
            ErrorCategory(name), _text(where, row, "title"), tuple(ranges)
        )
    return found


def _definition(
    code: str, row: Any, categories: Mapping[ErrorCategory, CategoryDefinition]
) -> ErrorDefinition:
    where = f"error code {code}"
    match = _CODE.match(code)
    if match is None or match["prefix"] not in categories:
        raise RegistryDataError(f"{where}: not PREFIX_NNNN with a prefix from [categories]")
    category = categories[ErrorCategory(match["prefix"])]
    if category.range_of(int(match["number"])) is None:
        spans = ", ".join(f"{r.first}-{r.last}" for r in category.ranges)
        raise RegistryDataError(f"{where}: number outside the {category.category} ranges ({spans})")
    if not isinstance(row, Mapping) or set(row) != _FIELDS:
        fields = sorted(row) if isinstance(row, Mapping) else row
        raise RegistryDataError(f"{where}: needs exactly the fields {sorted(_FIELDS)}, got {fields}")
    status = row["http"]
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise RegistryDataError(f"{where}: http must be an error status (400-599), got {status!r}")
    return ErrorDefinition(
        code=code,
        category=category.category,
        message=_text(where, row, "message"),
        http_status=status,
        user_message=_text(where, row, "user_message"),
        resolution=_text(where, row, "resolution"),
    )


def load_registry(text: str) -> Registry:
    """Parse and check the registry's TOML text; :class:`RegistryDataError` says what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # a duplicated code is one of these
        raise RegistryDataError(f"{DATA_FILE} is not valid TOML: {exc}") from exc
    categories = _categories(data.get("categories"))
    codes = data.get("codes")
    if not isinstance(codes, Mapping) or not codes:
        raise RegistryDataError("[codes] is missing or empty")
    return Registry(
        MappingProxyType(categories),
        MappingProxyType({code: _definition(code, row, categories) for code, row in codes.items()}),
    )


_LOADED = load_registry(
    resources.files("aegis_shared.errors").joinpath(DATA_FILE).read_text(encoding="utf-8")
)
_REGISTRY: Mapping[str, ErrorDefinition] = _LOADED.codes


def get_definition(code: str) -> ErrorDefinition:
    """Return the definition of ``code``; unknown codes are a programming error."""
    try:
        return _REGISTRY[code]
    except KeyError:
        raise KeyError(f"error code {code!r} is not registered in aegis_shared/errors/{DATA_FILE}") from None


def is_registered(code: str) -> bool:
    return code in _REGISTRY


def all_definitions() -> tuple[ErrorDefinition, ...]:
    """Every registered definition, ordered by code."""
    return tuple(sorted(_REGISTRY.values(), key=lambda d: d.code))


def category_definitions() -> tuple[CategoryDefinition, ...]:
    """Every category with its title and ranges, in :class:`ErrorCategory` order."""
    return tuple(_LOADED.categories[c] for c in ErrorCategory)


# A code written in brackets, the way AegisError renders itself: "[DP_1001] source down".
_BRACKETED = re.compile(r"\[((?:" + "|".join(c.value for c in ErrorCategory) + r")_\d{4})\]")


def find_code(text: str) -> ErrorDefinition | None:
    """The first registered ``[CODE]`` in ``text`` (an error's ``str()``, a log line), if any."""
    for match in _BRACKETED.finditer(text):
        if match.group(1) in _REGISTRY:
            return _REGISTRY[match.group(1)]
    return None
