"""A small policy service as another Aegis team would write it on ``aegis_shared``.

    pip install "aegis-platform[api,cache,db]"
    POLICY_SERVICE_JWT_SECRET=... AEGIS_POSTGRES_URL=... AEGIS_REDIS_URL=... \
        uvicorn --factory policy_service:create_app_from_env

It reads the policies the data platform keeps in PostgreSQL and caches each in Redis
(``cache_result``); operators withdraw a policy, which answers with the ``PolicyDeleted`` event
validated against the schema shipped in the library (ready for an outbox or ``EventPublisher``).
Tokens are verified and permissions checked by ``aegis_shared.auth``; every failure leaves as the
standard coded error body (``aegis_shared.api``), with the codes of ``aegis_shared.errors``.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import sqlalchemy as sa
from fastapi import Depends, FastAPI
from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import BaseModel

from aegis_shared.api import CurrentPrincipal, RequirePermissions, setup_aegis
from aegis_shared.auth import Authenticator, JWTHandler, KeyRing
from aegis_shared.cache import RedisCache, cache_result
from aegis_shared.config import get_settings
from aegis_shared.errors import BusinessError, DatabaseError
from aegis_shared.events import BundledSchemas, Envelope
from aegis_shared.messaging import SchemaValidators
from aegis_shared.monitoring import HealthRegistry, postgres_probe, redis_probe

SERVICE = "policy-service"


class Policy(BaseModel):
    """What the service answers (and caches: the cache stores JSON typed by this model)."""

    id: str
    title: str
    organization: str | None
    category: str | None
    status: str
    period_start: date | None
    period_end: date | None


class Withdrawal(BaseModel):
    reason: str


_READ = sa.text(
    "SELECT id, title, organization, category, status, period_start, period_end "
    "FROM policies WHERE id = :id AND deleted_at IS NULL"
)
_WITHDRAW = sa.text(
    "UPDATE policies SET status = 'archived', status_reason = :reason, deleted_at = :at, updated_at = :at, "
    "version = version + 1 WHERE id = :id AND deleted_at IS NULL"
)


def create_app(
    postgres_url: str,
    redis_url: str,
    jwt_secret: str,
    *,
    metrics_registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    engine = sa.create_engine(postgres_url, pool_pre_ping=True)
    cache = RedisCache(redis_url, name=SERVICE)
    validators = SchemaValidators(BundledSchemas())

    @cache_result(ttl=300, cache=cache, key="policy:{policy_id}")
    def load_policy(policy_id: str) -> Policy | None:
        with engine.connect() as conn:
            row = conn.execute(_READ, {"id": policy_id}).mappings().first()
        return None if row is None else Policy.model_validate(dict(row))

    def existing(policy_id: str) -> Policy:
        policy = load_policy(policy_id)
        if policy is None:
            raise DatabaseError("DB_4001", f"no policy {policy_id!r}", details={"policy_id": policy_id})
        return policy

    app = FastAPI(title=SERVICE)
    health = HealthRegistry()
    health.register("postgres", postgres_probe(engine))
    health.register("redis", redis_probe(cache), critical=False)  # without it we only lose the cache
    handler = JWTHandler(KeyRing.single("aegis-1", jwt_secret), issuer="aegis")
    setup_aegis(app, authenticator=Authenticator(handler), health=health, metrics_registry=metrics_registry)
    app.state.cache = cache
    app.state.load_policy = load_policy

    @app.get("/policies/{policy_id}", dependencies=[Depends(RequirePermissions("policy:read"))])
    def get_policy(policy_id: str) -> Policy:
        return existing(policy_id)

    @app.post("/policies/{policy_id}/withdraw", dependencies=[Depends(RequirePermissions("policy:write"))])
    def withdraw(policy_id: str, body: Withdrawal, principal: CurrentPrincipal) -> dict[str, object]:
        policy = existing(policy_id)
        if policy.status == "archived":
            raise BusinessError("BIZ_6003", "policy is already archived", details={"policy_id": policy_id})
        now = datetime.now(UTC)
        event = Envelope(
            event_type="PolicyDeleted",
            source=SERVICE,
            correlation_id=f"withdraw:{policy_id}",
            metadata={"actor": principal.subject},
            data={
                "policyId": policy_id,
                "title": policy.title,
                "reason": body.reason,
                "deletedAt": now.isoformat(),
            },
        )
        # The event is checked before anything changes: a refused one (VALID_3005) leaves the row as it was.
        validators.validate(validators.latest(event.event_type), event.data)
        with engine.begin() as conn:
            if conn.execute(_WITHDRAW, {"id": policy_id, "reason": body.reason, "at": now}).rowcount == 0:
                raise DatabaseError("DB_4001", f"no policy {policy_id!r}", details={"policy_id": policy_id})
        load_policy.invalidate(policy_id)  # type: ignore[attr-defined]
        return {"policy_id": policy_id, "event": event.to_wire()}

    return app


def create_app_from_env() -> FastAPI:
    """``uvicorn --factory``: URLs from the ``AEGIS_*`` settings, the token secret from the environment."""
    settings = get_settings()
    return create_app(
        settings.postgres_url.get_secret_value(),
        settings.redis_url.get_secret_value(),
        os.environ["POLICY_SERVICE_JWT_SECRET"],
    )
