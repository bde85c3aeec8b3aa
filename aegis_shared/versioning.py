"""SemVer helpers and the ``deprecated`` decorator (docs/platform.md §4).

Deprecation runs over three releases: announce (``@deprecated`` warns on every use), keep
warning in the next MAJOR, remove in the one after. ``removed_in`` defaults to the next-but-one
major version so the warning tells callers when the name will be gone.
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_SEMVER = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)


class SemVer(NamedTuple):
    major: int
    minor: int
    patch: int
    prerelease: str | None = None

    @classmethod
    def parse(cls, text: str) -> SemVer:
        match = _SEMVER.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a SemVer version (MAJOR.MINOR.PATCH)")
        return cls(int(match["major"]), int(match["minor"]), int(match["patch"]), match["pre"])

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{self.prerelease}" if self.prerelease else core

    def is_compatible_with(self, required: SemVer) -> bool:
        """Can code written against ``required`` run on this version? Same major, not older."""
        return self.major == required.major and (self.minor, self.patch) >= (required.minor, required.patch)


class AegisDeprecationWarning(DeprecationWarning):
    """Aegis's own deprecations, so services can filter or escalate them in CI."""


def deprecated(version: str, reason: str, *, removed_in: str | None = None) -> Callable[[F], F]:
    """Mark a function or class deprecated since ``version``; every use warns with ``reason``."""
    since = SemVer.parse(version)
    removal = SemVer.parse(removed_in) if removed_in else SemVer(since.major + 2, 0, 0)

    def decorate(obj: F) -> F:
        message = f"{obj.__qualname__} is deprecated since {since} and will be removed in {removal}: {reason}"
        if inspect.isclass(obj):
            original_init = obj.__init__

            @functools.wraps(original_init)
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
                warnings.warn(message, AegisDeprecationWarning, stacklevel=2)
                original_init(self, *args, **kwargs)

            obj.__init__ = __init__  # type: ignore[method-assign]  # wrapping the class's own __init__ is the point
            # PEP 702's __deprecated__ marker: an attribute mypy's types for classes and functions lack.
            obj.__deprecated__ = message  # type: ignore[attr-defined]
            return obj

        if inspect.iscoroutinefunction(obj):

            @functools.wraps(obj)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                warnings.warn(message, AegisDeprecationWarning, stacklevel=2)
                return await obj(*args, **kwargs)

            # The wrapper keeps fn's signature (functools.wraps); mypy cannot see that, nor the marker.
            async_wrapper.__deprecated__ = message  # type: ignore[attr-defined]
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(obj)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            warnings.warn(message, AegisDeprecationWarning, stacklevel=2)
            return obj(*args, **kwargs)

        # The wrapper keeps fn's signature (functools.wraps); mypy cannot see that, nor the marker.
        wrapper.__deprecated__ = message  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def library_version() -> SemVer:
    from aegis_shared import __version__

    return SemVer.parse(__version__)
