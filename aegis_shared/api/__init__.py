"""FastAPI integration (the optional ``aegis-platform[api]`` extra).

This is the only package that imports FastAPI; the rest of ``aegis_shared`` works without it.
"""

from aegis_shared._extras import require_extra

# Before the imports it guards: without the extra, the error names the pip install line.
require_extra("api", "aegis_shared.api (FastAPI integration)")


from aegis_shared.api.app import setup_aegis
from aegis_shared.api.auth import (
    AuthenticationMiddleware,
    CurrentPrincipal,
    RequirePermissions,
    RequireRoles,
    current_principal,
    require_service,
)
from aegis_shared.api.errors import error_body, register_exception_handlers
from aegis_shared.api.metrics_middleware import PrometheusMiddleware
from aegis_shared.api.request_id import RequestIdMiddleware
from aegis_shared.api.routers import health_router, metrics_router

__all__ = [
    "AuthenticationMiddleware",
    "CurrentPrincipal",
    "PrometheusMiddleware",
    "RequestIdMiddleware",
    "RequirePermissions",
    "RequireRoles",
    "current_principal",
    "error_body",
    "health_router",
    "metrics_router",
    "register_exception_handlers",
    "require_service",
    "setup_aegis",
]
