"""JSON encoding of cached values, typed by the cached function's return annotation.

Only JSON ever goes into or comes out of the cache: a value read from Redis is data that anyone
with network access could have written, and unpickling it would run their code. Pydantic's
``TypeAdapter`` makes the round trip typed, so a function annotated ``-> Policy`` returns a
``Policy`` on a hit just as on a miss.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticSerializationError

NULL = b"null"


class CacheCodecError(Exception):
    """A value could not be encoded, or a cached entry could not be decoded."""


class JsonCodec:
    def __init__(self, value_type: Any = Any) -> None:
        self._adapter: TypeAdapter[Any] = TypeAdapter(value_type)

    @classmethod
    def for_function(cls, fn: Callable[..., Any]) -> JsonCodec:
        """A codec for ``fn``'s return type; ``Any`` when it cannot be resolved."""
        try:
            hint = typing.get_type_hints(fn).get("return", Any)
        except Exception:  # unresolved forward references: fall back to plain JSON
            hint = Any
        if hint is None or hint is type(None):
            hint = Any
        try:
            return cls(hint)
        except Exception:  # a type pydantic cannot handle
            return cls(Any)

    def encode(self, value: Any) -> bytes:
        if value is None:
            return NULL
        try:
            return self._adapter.dump_json(value)
        except (PydanticSerializationError, TypeError, ValueError) as exc:
            raise CacheCodecError(f"value of type {type(value).__name__} is not JSON-serialisable") from exc

    def decode(self, raw: bytes) -> Any:
        if raw == NULL:
            return None
        try:
            return self._adapter.validate_json(raw)
        except PydanticValidationError as exc:
            raise CacheCodecError("cached entry does not match the function's return type") from exc
