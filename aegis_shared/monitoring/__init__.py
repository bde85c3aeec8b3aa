"""Prometheus metrics, health checks and optional OpenTelemetry tracing."""

from aegis_shared.monitoring.health import (
    CheckResult,
    HealthRegistry,
    HealthReport,
    kafka_probe,
    postgres_probe,
    redact,
    redis_probe,
)
from aegis_shared.monitoring.metrics import counter, gauge, histogram, http_metrics, track_metrics
from aegis_shared.monitoring.tracing import bind_trace_context, current_trace_id, otel_available, start_span

__all__ = [
    "CheckResult",
    "HealthRegistry",
    "HealthReport",
    "bind_trace_context",
    "counter",
    "current_trace_id",
    "gauge",
    "histogram",
    "http_metrics",
    "kafka_probe",
    "otel_available",
    "postgres_probe",
    "redact",
    "redis_probe",
    "start_span",
    "track_metrics",
]
