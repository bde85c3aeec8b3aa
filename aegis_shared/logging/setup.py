"""Structured JSON logging for every Aegis service, with context and redaction built in.

structlog and the standard library share one processor chain, so records from third-party
libraries (httpx logs request URLs, which may carry ``serviceKey``) are redacted exactly like
our own before they reach the output.

Handlers that are not ours see the standard library's records too: Dagster's console logger and
its event log (what ``context.log`` writes and the UI shows), pytest's capture, error trackers.
So :func:`configure_logging` also installs a log-record factory that masks every record's
message (and exception text) the moment the record is created, before any handler or filter
sees it. :class:`RedactingFilter` does the same for a handler configured elsewhere.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import IO, Any

import structlog
from pydantic import BaseModel, SecretStr
from structlog.typing import Processor

from aegis_shared.errors import AegisError, ErrorDefinition, get_definition, is_registered
from aegis_shared.errors.registry import find_code
from aegis_shared.logging.redaction import mask_text, redact, register_secrets

CONTEXT_KEYS = ("request_id", "run_id", "asset_key", "service")

_HANDLER_MARK = "_aegis_handler"
_FACTORY_MARK = "_aegis_redacting_factory"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask secrets and personal data in a stdlib record's message, exception and stack text.

    The message is rendered (``msg % args``) and masked, so a secret passed as an argument is
    caught too. structlog's own records carry an event dict that its processor chain has already
    redacted; they are left as they are. Masking is idempotent, so a record seen twice is fine.
    """
    if not isinstance(record.msg, dict):
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return record
        record.msg, record.args = mask_text(message), ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters reuse exc_text instead of formatting the traceback again.
        record.exc_text = mask_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A filter that masks records in place and lets them through.

    :func:`configure_logging` already masks every record as it is created; attach this to a
    handler in a process that does not call it (``handler.addFilter(RedactingFilter())``).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_record_redaction() -> None:
    """Mask every stdlib log record as it is created, whichever logger or handler it reaches.

    Wraps the current log-record factory once (calling it again is a no-op), so Dagster's
    ``context.log``, third-party libraries and any handler see only masked text.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, _FACTORY_MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    setattr(factory, _FACTORY_MARK, True)
    logging.setLogRecordFactory(factory)


_FAILURE_LEVELS = frozenset({"warning", "warn", "error", "exception", "critical", "fatal"})


def _raised(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    return sys.exc_info()[1] if exc_info is True else None


def _coded_failure(event_dict: MutableMapping[str, Any], level: str) -> ErrorDefinition | None:
    raised = _raised(event_dict.get("exc_info"))
    if isinstance(raised, AegisError):
        return raised.definition
    if level not in _FAILURE_LEVELS:
        return None
    for key in ("error_code", "code"):
        value = event_dict.get(key)
        if isinstance(value, str) and is_registered(value):
            return get_definition(value)
    # A plain message naming a code the way AegisError renders it: "... [DP_1001] ...".
    return find_code(str(event_dict.get("event", "")))


def add_error_resolution(
    _logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Put the registry's ``resolution`` (and ``error_code``) beside every coded failure.

    A failure is coded when it logs an :class:`AegisError` (``log.exception`` or
    ``exc_info=``), or, at warning level and above, carries a registered ``error_code``/``code``
    field or names ``[CODE]`` in its message (as ``str(AegisError)`` and Dagster's step
    failures do). The operator reading the log sees what to do without looking the code up.
    """
    if "resolution" in event_dict:
        return event_dict
    level = str(event_dict.get("level", method_name)).lower()
    definition = _coded_failure(event_dict, level)
    if definition is not None:
        event_dict.setdefault("error_code", definition.code)
        event_dict["resolution"] = definition.resolution
    return event_dict


def _add_service(service: str | None) -> Processor:
    def add_service(
        _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
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
    contextvars (request/run/asset ids), service name, the operator's resolution beside every
    coded failure (:func:`add_error_resolution`) and the redaction processor.

    Every ``SecretStr`` field of ``settings`` and every value in ``secrets`` is masked wherever
    it appears, even in free text. Every stdlib record is masked as it is created
    (:func:`install_record_redaction`), so handlers that are not ours never see a secret either.
    Idempotent: calling it again replaces the previous Aegis handler instead of stacking one.
    """
    register_secrets(*secrets, *_secret_values(settings))
    install_record_redaction()
    numeric_level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
        # Before format_exc_info turns the exception into text: it reads the AegisError's code.
        add_error_resolution,
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
