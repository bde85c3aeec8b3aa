"""Structured JSON logging for every Aegis service, with context and redaction built in.

structlog and the standard library share one processor chain, so records from third-party
libraries (httpx logs request URLs, which may carry ``serviceKey``) are redacted exactly like
our own before they reach the output.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import structlog
from pydantic import BaseModel, SecretStr
from structlog.typing import Processor

from aegis_shared.logging.redaction import redact, register_secrets

CONTEXT_KEYS = ("request_id", "run_id", "asset_key", "service")

_HANDLER_MARK = "_aegis_handler"


def _add_service(service: str | None) -> Processor:
    def add_service(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        if service is not None:
            event_dict.setdefault("service", service)
        return event_dict

    return add_service


def _secret_values(settings: BaseModel | None) -> list[str]:
    if settings is None:
        return []
    return [
        value.get_secret_value()
        for name in type(settings).model_fields
        if isinstance(value := getattr(settings, name), SecretStr)
    ]


def configure_logging(
    level: str | int = "INFO",
    *,
    json: bool = True,
    service: str | None = None,
    stream: IO[str] | None = None,
    settings: BaseModel | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Configure structlog and stdlib logging: JSON lines (or console), UTC ISO timestamps,
    contextvars (request/run/asset ids), service name and the redaction processor.

    Every ``SecretStr`` field of ``settings`` and every value in ``secrets`` is masked wherever
    it appears, even in free text. Idempotent: calling it again replaces the previous Aegis
    handler instead of stacking one.
    """
    register_secrets(*secrets, *_secret_values(settings))
    numeric_level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            # Redact before the record leaves structlog, so every stdlib handler (not only
            # ours: pytest's capture, error trackers) receives the redacted event dict.
            redact,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # Records from plain stdlib loggers get the same enrichment as structlog's own.
        foreign_pre_chain=shared,
        # Redaction runs last before rendering, after exceptions have been formatted to text.
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, redact, renderer],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric_level)


def get_logger(name: str | None = None, **initial: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (usually ``__name__``), optionally pre-bound."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**initial) if initial else logger


def bind_context(**values: Any) -> None:
    """Bind values (request_id, run_id, asset_key, service, ...) to every log line of this
    context (thread or asyncio task) until :func:`clear_context` or unbinding."""
    structlog.contextvars.bind_contextvars(**values)


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()


@contextmanager
def bound_context(**values: Any) -> Iterator[None]:
    """Bind values for the duration of a ``with`` block, restoring the previous ones after."""
    with structlog.contextvars.bound_contextvars(**values):
        yield
