"""A small FastAPI app served for real through httpx's ASGI transport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

import httpx
import pytest
import structlog
from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from aegis_shared.api import CurrentPrincipal, RequirePermissions, RequireRoles, require_service, setup_aegis
from aegis_shared.auth import Authenticator, JWTHandler, KeyRing, Principal
from aegis_shared.cache import RedisCache
from aegis_shared.errors import DatabaseError
from aegis_shared.monitoring import HealthRegistry, redis_probe
from tests.aegis_shared.cache.redis_server import ThrowawayRedis

SECRET = "api-test-signing-secret-0123456789-0123456789-0123456789-abcdef"


class PolicyIn(BaseModel):
    title: str
    budget: int


@pytest.fixture
def handler() -> JWTHandler:
    return JWTHandler(KeyRing.single("k1", SECRET))


@pytest.fixture
def redis_server() -> AsyncIterator[ThrowawayRedis]:
    server = ThrowawayRedis().start()
    yield server
    server.close()


@pytest.fixture
def app(handler: JWTHandler, redis_server: ThrowawayRedis) -> FastAPI:
    app = FastAPI()
    health = HealthRegistry()
    health.register("redis", redis_probe(redis_server.url, timeout=0.3), timeout=1, critical=False)
    health.register("postgres", lambda: None)
    setup_aegis(
        app,
        authenticator=Authenticator(handler, service_audience="policy-service"),
        health=health,
        metrics_registry=CollectorRegistry(),
    )

    @app.get("/policies/{policy_id}", dependencies=[Depends(RequirePermissions("policy:read"))])
    async def get_policy(policy_id: str) -> dict[str, str]:
        if policy_id != "p1":
            raise DatabaseError("DB_4001", details={"policy_id": policy_id})
        return {"policy_id": policy_id}

    @app.post("/policies")
    async def create(
        body: PolicyIn, principal: Annotated[Principal, Depends(RequirePermissions("policy:write"))]
    ) -> dict:
        return {"by": principal.subject, "title": body.title}

    @app.get("/admin", dependencies=[Depends(RequireRoles("admin"))])
    async def admin() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/internal/sync")
    async def internal(principal: Annotated[Principal, Depends(require_service)]) -> dict[str, str]:
        return {"caller": principal.subject}

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        structlog.get_logger().info("me_called")
        return {"sub": principal.subject}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"connection to postgresql://admin:{SECRET}@db failed")

    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://aegis.test") as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_standard_body(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "user_message", "details", "request_id"}
    assert body["code"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in body["user_message"])  # Korean text
    return body


async def test_missing_bad_and_expired_tokens_get_401_with_their_codes(
    client: httpx.AsyncClient, handler: JWTHandler
) -> None:
    _assert_standard_body(await client.get("/policies/p1"), 401, "AUTH_1003")
    _assert_standard_body(await client.get("/policies/p1", headers=_bearer("garbage")), 401, "AUTH_1001")
    _assert_standard_body(
        await client.get("/policies/p1", headers={"Authorization": "Basic abc"}), 401, "AUTH_1003"
    )
    expired = handler.create_access_token("u", roles=["user"], ttl=timedelta(seconds=-300))
    response = await client.get("/policies/p1", headers=_bearer(expired))
    _assert_standard_body(response, 401, "AUTH_1002")
    assert response.headers["www-authenticate"] == "Bearer"
    pair = handler.create_token_pair("u", roles=["user"])
    _assert_standard_body(await client.get("/me", headers=_bearer(pair.refresh_token)), 401, "AUTH_1006")


async def test_insufficient_permissions_get_403(client: httpx.AsyncClient, handler: JWTHandler) -> None:
    user = handler.create_access_token("u", roles=["user"])
    assert (await client.get("/policies/p1", headers=_bearer(user))).json() == {"policy_id": "p1"}
    body = _assert_standard_body(
        await client.post("/policies", json={"title": "t", "budget": 1}, headers=_bearer(user)),
        403,
        "AUTHZ_2001",
    )
    assert body["details"] == {"missing_permissions": ["policy:write"]}
    _assert_standard_body(await client.get("/admin", headers=_bearer(user)), 403, "AUTHZ_2001")
    operator = handler.create_access_token("op", roles=["operator"])
    created = await client.post("/policies", json={"title": "t", "budget": 1}, headers=_bearer(operator))
    assert created.json() == {"by": "op", "title": "t"}
    unknown_role = handler.create_access_token("x", roles=["wizard"])
    _assert_standard_body(await client.get("/policies/p1", headers=_bearer(unknown_role)), 403, "AUTHZ_2003")


async def test_service_tokens_are_scoped_by_audience(client: httpx.AsyncClient, handler: JWTHandler) -> None:
    good = handler.create_service_token("collector", audience="policy-service", scopes=["policy:read"])
    assert (await client.get("/internal/sync", headers=_bearer(good))).json() == {"caller": "collector"}
    assert (await client.get("/policies/p1", headers=_bearer(good))).status_code == 200  # scope grants it
    other = handler.create_service_token("collector", audience="user-service")
    _assert_standard_body(await client.get("/internal/sync", headers=_bearer(other)), 401, "AUTH_1010")
    user = handler.create_access_token("u", roles=["admin"])
    _assert_standard_body(await client.get("/internal/sync", headers=_bearer(user)), 403, "AUTHZ_2001")


async def test_missing_entity_gets_the_standard_404_body(
    client: httpx.AsyncClient, handler: JWTHandler
) -> None:
    token = handler.create_access_token("u", roles=["user"])
    response = await client.get("/policies/nope", headers={**_bearer(token), "X-Request-ID": "req-abc.1"})
    body = _assert_standard_body(response, 404, "DB_4001")
    assert body["request_id"] == "req-abc.1"
    assert body["details"] == {"policy_id": "nope"}
    assert body["user_message"] == "요청하신 정보를 찾을 수 없습니다."


async def test_request_validation_errors_use_the_standard_body(
    client: httpx.AsyncClient, handler: JWTHandler
) -> None:
    token = handler.create_access_token("op", roles=["operator"])
    response = await client.post("/policies", json={"title": "t", "budget": "lots"}, headers=_bearer(token))
    body = _assert_standard_body(response, 400, "VALID_3001")
    assert body["details"]["errors"][0]["pointer"] == "/budget"
    assert "lots" not in response.text


async def test_unexpected_errors_hide_their_text(client: httpx.AsyncClient) -> None:
    with structlog.testing.capture_logs() as logs:
        response = await client.get("/boom")
    body = _assert_standard_body(response, 500, "SYS_7001")
    assert SECRET not in response.text and body["details"] == {}
    entry = next(e for e in logs if e["event"] == "unhandled_exception")
    assert entry["request_id"] == body["request_id"] and entry["error"] == "RuntimeError"


async def test_request_id_reaches_the_log_context(client: httpx.AsyncClient, handler: JWTHandler) -> None:
    token = handler.create_access_token("user-42", roles=["user"])
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await client.get("/me", headers={**_bearer(token), "X-Request-ID": "trace-me-1"})
    assert response.headers["x-request-id"] == "trace-me-1"
    entry = next(e for e in logs if e["event"] == "me_called")
    assert entry["request_id"] == "trace-me-1" and entry["user_id"] == "user-42"
    # An unsafe client id (log injection) is replaced by a generated one.
    response = await client.get("/health/live", headers={"X-Request-ID": "evil\nid"})
    assert response.headers["x-request-id"] != "evil\nid" and len(response.headers["x-request-id"]) == 32


async def test_secrets_never_reach_error_bodies_or_logs(
    client: httpx.AsyncClient, handler: JWTHandler
) -> None:
    expired = handler.create_access_token("u", ttl=timedelta(seconds=-300))
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        responses = [
            await client.get("/me", headers=_bearer(expired)),
            await client.get("/me", headers=_bearer(expired[:-4] + "AAAA")),
            await client.get("/boom"),
        ]
    text = "".join(r.text for r in responses) + json.dumps(logs, default=str)
    assert SECRET not in text and expired not in text


async def test_health_turns_degraded_when_redis_stops(
    client: httpx.AsyncClient, redis_server: ThrowawayRedis
) -> None:
    healthy = await client.get("/health")
    assert healthy.status_code == 200 and healthy.json()["status"] == "healthy"
    assert healthy.json()["checks"]["redis"]["status"] == "healthy"
    redis_server.stop()
    degraded = await client.get("/health")
    assert degraded.status_code == 200
    assert degraded.json()["status"] == "degraded"
    assert degraded.json()["checks"]["redis"]["status"] == "unhealthy"
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "degraded", "ready": True}


async def test_unhealthy_critical_dependency_fails_readiness(handler: JWTHandler) -> None:
    app = FastAPI()
    health = HealthRegistry()
    health.register("postgres", lambda: False)
    setup_aegis(app, health=health, metrics_registry=CollectorRegistry())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/health")).status_code == 503
        assert (await client.get("/health/ready")).status_code == 503


async def test_metrics_expose_the_request_histogram(client: httpx.AsyncClient, handler: JWTHandler) -> None:
    token = handler.create_access_token("u", roles=["user"])
    for pid in ("p1", "p2", "p3"):
        await client.get(f"/policies/{pid}", headers=_bearer(token))
    await client.get("/does-not-exist")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE aegis_http_request_duration_seconds histogram" in text
    assert (
        'aegis_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/policies/{policy_id}"}'
        in text
    )
    assert 'aegis_http_requests_total{method="GET",route="/policies/{policy_id}",status="200"} 1.0' in text
    assert 'aegis_http_requests_total{method="GET",route="/policies/{policy_id}",status="404"} 2.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "/policies/p2" not in text  # raw paths never become labels


async def test_cache_outage_does_not_fail_requests(redis_server: ThrowawayRedis) -> None:
    from aegis_shared.cache import cache_result

    cache = RedisCache(redis_server.url, retry_interval=0.2, socket_timeout=0.2, prefix="aegis:apitest")

    @cache_result(ttl=30, cache=cache)
    async def lookup(pid: str) -> dict[str, str]:
        return {"policy_id": pid}

    app = FastAPI()
    setup_aegis(app, metrics_registry=CollectorRegistry())

    @app.get("/lookup/{pid}")
    async def route(pid: str) -> dict[str, str]:
        return await lookup(pid)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/lookup/a")).json() == {"policy_id": "a"}
        redis_server.stop()
        assert (await client.get("/lookup/a")).json() == {"policy_id": "a"}
    await cache.aclose()
