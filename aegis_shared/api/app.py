"""One call wires a FastAPI app the Aegis way."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry

from aegis_shared.api.auth import STATE_KEY, AuthenticationMiddleware
from aegis_shared.api.errors import register_exception_handlers
from aegis_shared.api.metrics_middleware import PrometheusMiddleware
from aegis_shared.api.request_id import RequestIdMiddleware
from aegis_shared.api.routers import health_router, metrics_router
from aegis_shared.auth.authenticator import Authenticator
from aegis_shared.monitoring.health import HealthRegistry


def setup_aegis(
    app: FastAPI,
    *,
    authenticator: Authenticator | None = None,
    health: HealthRegistry | None = None,
    metrics_registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    """Add error handlers, request ids, metrics, authentication and the health/metrics routes.

    Middleware order, outermost first: request id (so every log line and error body has it),
    metrics (so failures are timed too), authentication.
    """
    register_exception_handlers(app)
    if authenticator is not None:
        setattr(app.state, STATE_KEY, authenticator)
        app.add_middleware(AuthenticationMiddleware, authenticator=authenticator)
    app.add_middleware(PrometheusMiddleware, registry=metrics_registry)
    app.add_middleware(RequestIdMiddleware)  # added last = outermost
    app.include_router(health_router(health or HealthRegistry()))
    app.include_router(metrics_router(metrics_registry))
    return app
