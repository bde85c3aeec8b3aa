"""How a command reports a coded error: ``[CODE] message``, the resolution, an exit status.

The ``aegis events``, ``aegis schema`` and ``aegis dlq`` commands (and the ``aegis`` group for
the others) share this, so an operator reads every command's failure the same way: the code to
search for, what went wrong, and the registry's advice on what to do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from aegis_shared.errors.exceptions import AegisError

F = TypeVar("F", bound=Callable[..., Any])


def coded_errors(
    *,
    exit_status: int | Callable[[AegisError], int] = 2,
    prefix: str = "error ",
    more: Callable[[AegisError], Iterable[str]] | None = None,
) -> Callable[[F], F]:
    """Decorate a click command: an :class:`AegisError` becomes stderr lines and an exit status.

    ``more`` adds lines after the resolution (the breaking changes of a refused schema, say).
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except AegisError as exc:
                click.echo(f"{prefix}{exc.operator_text()}", err=True)
                for line in more(exc) if more is not None else ():
                    click.echo(line, err=True)
                raise SystemExit(exit_status(exc) if callable(exit_status) else exit_status) from exc

        # functools.wraps keeps the command's signature; mypy types the wrapper as (*args, **kwargs).
        return wrapper  # type: ignore[return-value]

    return decorate
