"""Optional OpenTelemetry spans whose trace id also lands in the logging context.

Without ``opentelemetry-api`` installed (or without an SDK configured, when every span is a
non-recording no-op with an all-zero trace id) the helpers still work and bind nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import structlog

try:  # optional dependency
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - exercised only where the API is absent
    # OpenTelemetry is optional: None means tracing is off.
    _otel_trace = None  # type: ignore[assignment]


def otel_available() -> bool:
    return _otel_trace is not None


def current_trace_id() -> str | None:
    """The active span's trace id as 32 hex digits, or ``None`` when there is no real trace."""
    if _otel_trace is None:
        return None
    context = _otel_trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x")


def bind_trace_context() -> str | None:
    """Copy the current trace and span ids into structlog's context variables."""
    trace_id = current_trace_id()
    if trace_id is not None:
        span_id = format(_otel_trace.get_current_span().get_span_context().span_id, "016x")
        structlog.contextvars.bind_contextvars(trace_id=trace_id, span_id=span_id)
    return trace_id


@contextmanager
def start_span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span (when OpenTelemetry is present) with its ids bound into the logging context."""
    if _otel_trace is None:
        yield None
        return
    tracer = _otel_trace.get_tracer("aegis_shared")
    with tracer.start_as_current_span(name, attributes=attributes or None) as span:
        context = span.get_span_context()
        tokens: Mapping[str, Any] = {}
        if context.is_valid:
            tokens = structlog.contextvars.bind_contextvars(
                trace_id=format(context.trace_id, "032x"), span_id=format(context.span_id, "016x")
            )
        try:
            yield span
        finally:
            if tokens:
                structlog.contextvars.reset_contextvars(**tokens)
