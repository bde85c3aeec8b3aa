"""Cache keys derived stably from a function's arguments.

``f(1)``, ``f(x=1)`` and ``f(1, flag=False)`` (a default) give the same key, in every process:
arguments are bound to the signature, defaults applied, and hashed as canonical JSON (sorted
keys, sets sorted), never through ``hash()`` (randomised per process) or ``repr``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic_core import to_jsonable_python

DEFAULT_PREFIX = "aegis:cache"


def _default(obj: Any) -> Any:
    if isinstance(obj, set | frozenset):
        return sorted((_canonical(item) for item in obj), key=lambda v: json.dumps(v, sort_keys=True))
    return to_jsonable_python(obj)


def _canonical(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=_default, sort_keys=True))


def canonical_json(arguments: Mapping[str, Any]) -> str:
    """The arguments as deterministic JSON text."""
    return json.dumps(arguments, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def function_namespace(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


class KeyBuilder:
    """Builds ``{prefix}:{namespace}:{suffix}`` keys for one function.

    ``template`` (e.g. ``"policy:{policy_id}"``) makes readable suffixes that pattern
    invalidation can target; otherwise the suffix is a SHA-256 of the canonical arguments.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        prefix: str = DEFAULT_PREFIX,
        namespace: str | None = None,
        template: str | None = None,
        ignore: Iterable[str] = ("self", "cls"),
    ) -> None:
        self._signature = inspect.signature(fn)
        self._ignore = frozenset(ignore)
        self.base = f"{prefix}:{namespace or function_namespace(fn)}"
        self._template = template

    def arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        out: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name in self._ignore:
                continue
            kind = self._signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                out.update(value)
            else:
                out[name] = value
        return out

    def __call__(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        arguments = self.arguments(args, kwargs)
        if self._template is not None:
            return f"{self.base}:{self._template.format(**arguments)}"
        digest = hashlib.sha256(canonical_json(arguments).encode("utf-8")).hexdigest()[:32]
        return f"{self.base}:{digest}"
