"""Refresh-token reuse is detected across service instances through Redis."""

from __future__ import annotations

import uuid

import pytest
import redis

from aegis_shared.auth import JWTHandler, KeyRing, RedisRefreshTokenStore
from aegis_shared.errors import AuthenticationError, ExternalServiceError
from tests.aegis_shared.cache.redis_server import ThrowawayRedis

SECRET = "redis-store-test-secret-0123456789-0123456789-0123456789-abcdef"


def test_reuse_is_detected_by_another_instance(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    prefix = f"aegis:test:refresh:{uuid.uuid4().hex}"
    a = JWTHandler(KeyRing.single("k", SECRET), refresh_store=RedisRefreshTokenStore(client, prefix=prefix))
    b = JWTHandler(KeyRing.single("k", SECRET), refresh_store=RedisRefreshTokenStore(client, prefix=prefix))
    pair = a.create_token_pair("u")
    rotated = a.rotate_refresh_token(pair.refresh_token)
    with pytest.raises(AuthenticationError) as exc:
        b.rotate_refresh_token(pair.refresh_token)
    assert exc.value.code == "AUTH_1008"
    with pytest.raises(AuthenticationError):
        b.rotate_refresh_token(rotated.refresh_token)  # family revoked everywhere
    for key in client.scan_iter(match=f"{prefix}:*"):
        assert client.ttl(key) > 0  # nothing is kept forever
        client.delete(key)
    client.close()


def test_redis_down_refuses_refresh_with_ext_5006() -> None:
    server = ThrowawayRedis().start()
    try:
        client = redis.Redis.from_url(server.url, socket_connect_timeout=0.2, socket_timeout=0.2)
        handler = JWTHandler(KeyRing.single("k", SECRET), refresh_store=RedisRefreshTokenStore(client))
        pair = handler.create_token_pair("u")
        server.stop()
        with pytest.raises(ExternalServiceError) as exc:
            handler.rotate_refresh_token(pair.refresh_token)
        assert exc.value.code == "EXT_5006"
        client.close()
    finally:
        server.close()
