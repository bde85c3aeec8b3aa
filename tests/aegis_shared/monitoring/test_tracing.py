"""Spans are optional; a real trace id is carried into the logging context."""

from __future__ import annotations

import structlog
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from aegis_shared.monitoring import bind_trace_context, current_trace_id, otel_available, start_span


def test_without_an_sdk_spans_are_no_ops_and_bind_nothing() -> None:
    assert otel_available()
    structlog.contextvars.clear_contextvars()
    with start_span("noop", policy_id="p1"):
        assert current_trace_id() is None
        assert "trace_id" not in structlog.contextvars.get_contextvars()


def test_trace_id_reaches_the_logging_context() -> None:
    structlog.contextvars.clear_contextvars()
    parent = SpanContext(trace_id=0x1234, span_id=0x99, is_remote=True, trace_flags=TraceFlags(1))
    with trace.use_span(NonRecordingSpan(parent)):
        assert current_trace_id() == f"{0x1234:032x}"
        with start_span("child"), structlog.testing.capture_logs() as logs:
            structlog.get_logger().info("inside")
        assert bind_trace_context() == f"{0x1234:032x}"
    assert logs[0].get("trace_id") in (None, f"{0x1234:032x}")
    assert structlog.contextvars.get_contextvars()["trace_id"] == f"{0x1234:032x}"
    structlog.contextvars.clear_contextvars()
