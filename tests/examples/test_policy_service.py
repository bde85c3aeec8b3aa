"""The example FastAPI policy service (``examples/policy_service``) against the real PostgreSQL and
Redis of the test stack: tokens and permissions, Redis caching, a validated PolicyDeleted event,
and coded errors that leave the data as it was."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from aegis_shared.auth import JWTHandler, KeyRing
from aegis_shared.config import get_settings
from aegis_shared.events import BundledSchemas
from aegis_shared.messaging import decode_message
from tests.examples.conftest import load_example

SECRET = "policy-service-test-secret-of-32-bytes!"
service = load_example("policy_service/policy_service.py")


@pytest.fixture
def engine(fresh_database: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(fresh_database)
    yield engine
    engine.dispose()


@pytest.fixture
def policy_id(engine: sa.Engine) -> str:
    pid = f"bizinfo:PBLN_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO policies (id, source, source_id, title, organization, category, status, "
                "content_hash, period_start, period_end) VALUES (:id, 'bizinfo', :sid, "
                "'2026년 창업도약패키지 지원사업 공고', '중소벤처기업부', '창업', 'active', 'h1', "
                "'2026-03-01', '2026-12-31')"
            ),
            {"id": pid, "sid": pid.split(":")[1]},
        )
    return pid


@pytest.fixture
def client(fresh_database: str, redis_url: str) -> Iterator[TestClient]:
    app = service.create_app(fresh_database, redis_url, SECRET, metrics_registry=CollectorRegistry())
    with TestClient(app) as client:
        yield client


@pytest.fixture
def tokens() -> JWTHandler:
    # What the Aegis auth service issues: same key ring and issuer as the service verifies.
    return JWTHandler(KeyRing.single("aegis-1", SECRET), issuer="aegis")


def bearer(handler: JWTHandler, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {handler.create_access_token('user-7', roles=[role])}"}


def coded(response: Any, status: int, code: str) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code and body["user_message"] and body["request_id"]
    return body


def row(engine: sa.Engine, policy_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT status, deleted_at, version, title FROM policies WHERE id = :id"),
            {"id": policy_id},
        )
        return dict(found.mappings().one())


def test_a_reader_gets_a_policy_and_the_second_read_comes_from_redis(
    client: TestClient, tokens: JWTHandler, policy_id: str, engine: sa.Engine, redis_url: str
) -> None:
    first = client.get(f"/policies/{policy_id}", headers=bearer(tokens, "user"))
    assert first.status_code == 200
    assert first.json()["title"] == "2026년 창업도약패키지 지원사업 공고"
    assert first.json()["period_end"] == "2026-12-31"
    key = client.app.state.load_policy.cache_key(policy_id)  # type: ignore[attr-defined]
    assert json.loads(redis.Redis.from_url(redis_url).get(key))["id"] == policy_id
    # Another writer renames the row: until the entry expires or is invalidated, Redis answers.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE policies SET title = 'renamed' WHERE id = :id"), {"id": policy_id})
    second = client.get(f"/policies/{policy_id}", headers=bearer(tokens, "user"))
    assert second.json() == first.json()
    stats = client.app.state.cache.stats  # type: ignore[attr-defined]
    assert (stats.misses, stats.hits) == (1, 1)


def test_requests_without_a_valid_token_get_the_coded_401(
    client: TestClient, tokens: JWTHandler, policy_id: str
) -> None:
    coded(client.get(f"/policies/{policy_id}"), 401, "AUTH_1003")
    forged = JWTHandler(KeyRing.single("aegis-1", "another-secret-of-at-least-32-bytes!!"), issuer="aegis")
    coded(client.get(f"/policies/{policy_id}", headers=bearer(forged, "admin")), 401, "AUTH_1001")
    expired = tokens.create_access_token("user-7", roles=["user"], ttl=timedelta(seconds=-300))
    coded(
        client.get(f"/policies/{policy_id}", headers={"Authorization": f"Bearer {expired}"}), 401, "AUTH_1002"
    )


def test_an_unknown_policy_is_the_coded_404(client: TestClient, tokens: JWTHandler) -> None:
    body = coded(client.get("/policies/bizinfo:NOPE", headers=bearer(tokens, "user")), 404, "DB_4001")
    assert body["details"] == {"policy_id": "bizinfo:NOPE"}


def test_an_operator_withdraws_a_policy_and_gets_its_valid_event(
    client: TestClient, tokens: JWTHandler, policy_id: str, engine: sa.Engine
) -> None:
    assert client.get(f"/policies/{policy_id}", headers=bearer(tokens, "user")).status_code == 200  # cached
    response = client.post(
        f"/policies/{policy_id}/withdraw",
        json={"reason": "programme cancelled"},
        headers=bearer(tokens, "operator"),
    )
    assert response.status_code == 200, response.json()
    event = decode_message(json.dumps(response.json()["event"]).encode(), BundledSchemas())
    assert (event.event_type, event.source) == ("PolicyDeleted", "policy-service")
    assert event.data["policyId"] == policy_id and event.data["reason"] == "programme cancelled"
    assert event.metadata == {"actor": "user-7"}
    stored = row(engine, policy_id)
    assert stored["status"] == "archived" and stored["deleted_at"] is not None and stored["version"] == 2
    # The cached copy went with it: readers see the withdrawal at once.
    coded(client.get(f"/policies/{policy_id}", headers=bearer(tokens, "user")), 404, "DB_4001")


def test_a_reader_cannot_withdraw_and_nothing_changes(
    client: TestClient, tokens: JWTHandler, policy_id: str, engine: sa.Engine
) -> None:
    before = row(engine, policy_id)
    response = client.post(
        f"/policies/{policy_id}/withdraw", json={"reason": "x"}, headers=bearer(tokens, "user")
    )
    coded(response, 403, "AUTHZ_2001")
    assert row(engine, policy_id) == before


def test_an_empty_reason_fails_the_event_schema_and_nothing_changes(
    client: TestClient, tokens: JWTHandler, policy_id: str, engine: sa.Engine
) -> None:
    before = row(engine, policy_id)
    response = client.post(
        f"/policies/{policy_id}/withdraw", json={"reason": ""}, headers=bearer(tokens, "operator")
    )
    body = coded(response, 422, "VALID_3005")
    assert body["details"]["pointer"] == "/data/reason"
    assert row(engine, policy_id) == before
    assert client.get(f"/policies/{policy_id}", headers=bearer(tokens, "user")).json()["status"] == "active"


def test_health_reports_postgres_and_redis(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "postgres": "healthy",
        "redis": "healthy",
    }


def test_the_service_starts_from_the_environment_as_uvicorn_runs_it(
    fresh_database: str, redis_url: str, tokens: JWTHandler, policy_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_POSTGRES_URL", fresh_database)
    monkeypatch.setenv("AEGIS_REDIS_URL", redis_url)
    monkeypatch.setenv("POLICY_SERVICE_JWT_SECRET", SECRET)
    get_settings.cache_clear()
    try:
        app = service.create_app_from_env()
    finally:
        get_settings.cache_clear()  # later tests read the session's settings again
    with TestClient(app) as client:
        assert client.get(f"/policies/{policy_id}", headers=bearer(tokens, "user")).json()["id"] == policy_id
