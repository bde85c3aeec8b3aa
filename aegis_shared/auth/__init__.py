"""Authentication (JWT access, refresh and service tokens) and role-based authorization.

Framework-free: FastAPI dependencies live in :mod:`aegis_shared.api`.
"""

from aegis_shared._extras import require_extra

# Before the imports it guards: without the extra, the error names the pip install line.
require_extra("auth", "aegis_shared.auth (JWT and RBAC)")


from aegis_shared.auth.authenticator import Authenticator
from aegis_shared.auth.jwt_handler import JWTHandler, RefreshReuse, TokenPair
from aegis_shared.auth.keys import KeyRing, SigningKey
from aegis_shared.auth.principal import Principal
from aegis_shared.auth.rbac import (
    RBACPolicy,
    RoleDefinition,
    default_policy,
    require_permission,
    require_role,
)
from aegis_shared.auth.refresh_store import (
    InMemoryRefreshTokenStore,
    RedisRefreshTokenStore,
    RefreshTokenStore,
)

__all__ = [
    "Authenticator",
    "InMemoryRefreshTokenStore",
    "JWTHandler",
    "KeyRing",
    "Principal",
    "RBACPolicy",
    "RedisRefreshTokenStore",
    "RefreshReuse",
    "RefreshTokenStore",
    "RoleDefinition",
    "SigningKey",
    "TokenPair",
    "default_policy",
    "require_permission",
    "require_role",
]
