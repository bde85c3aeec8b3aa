"""``/health``, ``/health/ready`` and ``/metrics``.

``/health`` reports the aggregate and every probe; it answers 200 while the service can still
serve (healthy or degraded) and 503 when unhealthy. ``/health/ready`` is the load balancer's
question, 200 only when not unhealthy, with the status alone. ``/health/live`` runs no probes.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from aegis_shared.models.enums import HealthStatus
from aegis_shared.monitoring.health import HealthRegistry


def health_router(registry: HealthRegistry) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health")
    async def health() -> JSONResponse:
        report = await registry.check()
        code = 503 if report.status is HealthStatus.UNHEALTHY else 200
        return JSONResponse(report.to_dict(), status_code=code)

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        report = await registry.check()
        ok = report.status is not HealthStatus.UNHEALTHY
        return JSONResponse({"status": report.status.value, "ready": ok}, status_code=200 if ok else 503)

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": HealthStatus.HEALTHY.value}

    return router


def metrics_router(registry: CollectorRegistry = REGISTRY) -> APIRouter:
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
