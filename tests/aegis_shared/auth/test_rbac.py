"""Roles map to permissions with inheritance; guards raise AUTHZ codes."""

from __future__ import annotations

import pytest

from aegis_shared.auth import (
    Principal,
    RBACPolicy,
    RoleDefinition,
    default_policy,
    require_permission,
    require_role,
)
from aegis_shared.errors import AuthenticationError, AuthorizationError
from aegis_shared.models.enums import TokenType


def _user(*roles: str) -> Principal:
    return Principal(subject="u", token_type=TokenType.ACCESS, roles=roles)


def test_inheritance_collects_parent_permissions() -> None:
    policy = default_policy()
    assert policy.allows(["analyst"], "policy:read")  # from user
    assert policy.allows(["operator"], "quality:read")  # from analyst
    assert not policy.allows(["user"], "policy:write")
    assert policy.allows(["admin"], "anything:at-all")


def test_wildcard_grants() -> None:
    policy = RBACPolicy({"editor": RoleDefinition(frozenset({"policy:*"}))})
    assert policy.allows(["editor"], "policy:delete")
    assert not policy.allows(["editor"], "policyx:delete")
    assert not policy.allows(["editor"], "user:read")


def test_cycles_and_unknown_parents_are_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        RBACPolicy.from_mapping({"a": {"inherits": ["b"]}, "b": {"inherits": ["a"]}})
    with pytest.raises(AuthorizationError) as exc:
        RBACPolicy.from_mapping({"a": {"inherits": ["ghost"]}})
    assert exc.value.code == "AUTHZ_2003"


def test_check_reports_missing_permissions() -> None:
    with pytest.raises(AuthorizationError) as exc:
        default_policy().check(_user("user"), "policy:read", "pipeline:run")
    assert exc.value.code == "AUTHZ_2001"
    assert exc.value.details == {"missing_permissions": ["pipeline:run"]}


def test_unknown_role_in_token_is_authz_2003() -> None:
    with pytest.raises(AuthorizationError) as exc:
        default_policy().check(_user("superuser"), "policy:read")
    assert exc.value.code == "AUTHZ_2003"


def test_service_scopes_count_as_grants() -> None:
    svc = Principal(subject="collector", token_type=TokenType.SERVICE, scopes=("policy:write",))
    default_policy().check(svc, "policy:write")
    with pytest.raises(AuthorizationError):
        default_policy().check(svc, "sync:repair")


def test_require_permission_guards_sync_functions() -> None:
    @require_permission("pipeline:run")
    def launch(principal: Principal, job: str) -> str:
        return f"launched {job}"

    assert launch(_user("operator"), "cold") == "launched cold"
    with pytest.raises(AuthorizationError) as exc:
        launch(_user("analyst"), job="cold")
    assert exc.value.code == "AUTHZ_2001"
    with pytest.raises(AuthenticationError) as auth_exc:
        launch("not-a-principal", "cold")  # type: ignore[arg-type]
    assert auth_exc.value.code == "AUTH_1003"


async def test_require_role_guards_async_functions_with_inheritance() -> None:
    @require_role("analyst")
    async def report(*, principal: Principal) -> str:
        return "ok"

    assert await report(principal=_user("admin")) == "ok"  # admin inherits analyst
    assert await report(principal=_user("analyst")) == "ok"
    with pytest.raises(AuthorizationError) as exc:
        await report(principal=_user("user"))
    assert exc.value.code == "AUTHZ_2001"


def test_require_role_with_undefined_role_is_2003() -> None:
    @require_role("wizard")
    def spell(principal: Principal) -> None:
        return None

    with pytest.raises(AuthorizationError) as exc:
        spell(_user("admin"))
    assert exc.value.code == "AUTHZ_2003"
