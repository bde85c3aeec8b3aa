"""Authentication middleware and FastAPI dependencies for tokens, permissions and roles.

The middleware verifies a bearer token when one is sent and records the principal (or the
coded failure) for the dependencies; it never rejects a request itself, so public routes such
as ``/health`` work whatever header a client sends. Protected routes declare a dependency:

    @app.get("/policies", dependencies=[Depends(RequirePermissions("policy:read"))])
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from aegis_shared.auth.authenticator import Authenticator
from aegis_shared.auth.principal import Principal
from aegis_shared.errors import AegisError, AuthorizationError, SystemError_

STATE_KEY = "aegis_authenticator"


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, *, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        header = dict(scope["headers"]).get(b"authorization")
        if header is None:
            await self.app(scope, receive, send)
            return
        try:
            principal = self.authenticator.authenticate_header(header.decode("latin-1"))
        except AegisError as exc:
            state["auth_error"] = exc
            await self.app(scope, receive, send)
            return
        state["principal"] = principal
        with structlog.contextvars.bound_contextvars(user_id=principal.subject):
            await self.app(scope, receive, send)


def get_authenticator(request: Request) -> Authenticator:
    authenticator = getattr(request.app.state, STATE_KEY, None)
    if authenticator is None:
        raise SystemError_(
            "SYS_7003", "No authenticator configured; call setup_aegis(app, authenticator=...)"
        )
    configured: Authenticator = authenticator
    return configured


def current_principal(request: Request) -> Principal:
    """The verified caller; raises the token's AUTH code (401) when there is none."""
    state = request.state
    principal: Principal | None = getattr(state, "principal", None)
    if principal is not None:
        return principal
    error = getattr(state, "auth_error", None)
    if error is not None:
        raise error
    # No middleware installed: verify here.
    principal = get_authenticator(request).authenticate_header(request.headers.get("authorization"))
    state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class RequirePermissions:
    """Dependency: the caller must hold every permission (AUTHZ_2001 otherwise)."""

    def __init__(self, *permissions: str) -> None:
        self.permissions = permissions

    def __call__(self, request: Request, principal: CurrentPrincipal) -> Principal:
        get_authenticator(request).policy.check(principal, *self.permissions)
        return principal


class RequireRoles:
    """Dependency: the caller must hold one of the roles, directly or by inheritance."""

    def __init__(self, *roles: str) -> None:
        self.roles = roles

    def __call__(self, request: Request, principal: CurrentPrincipal) -> Principal:
        get_authenticator(request).policy.check_role(principal, *self.roles)
        return principal


def require_service(principal: CurrentPrincipal) -> Principal:
    """Dependency for internal endpoints: only service-account tokens (for this audience) pass."""
    if not principal.is_service:
        raise AuthorizationError("AUTHZ_2001", details={"reason": "service token required"})
    return principal
