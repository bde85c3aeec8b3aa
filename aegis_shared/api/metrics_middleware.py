"""Request count and latency histogram, labelled by route template to bound cardinality."""

from __future__ import annotations

import time

from prometheus_client import REGISTRY, CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aegis_shared.monitoring.metrics import http_metrics


class PrometheusMiddleware:
    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry = REGISTRY) -> None:
        self.app = app
        self.requests, self.latency = http_metrics(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            # Raw paths would give one series per policy id; unmatched paths share one label.
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.latency.labels(method, template).observe(time.perf_counter() - started)
            self.requests.labels(method, template, str(status)).inc()
