"""Role-based access control: roles grant permissions and inherit other roles.

Permissions are ``resource:action`` strings; a grant may end in ``*`` (``policy:*``, or ``*``
for everything). Missing permissions raise AUTHZ_2001; a role the policy does not define
raises AUTHZ_2003, because a typo in a role name must not quietly grant or deny.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from aegis_shared.auth.principal import Principal
from aegis_shared.errors import AuthenticationError, AuthorizationError
from aegis_shared.models.enums import UserRole

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RoleDefinition:
    permissions: frozenset[str] = frozenset()
    inherits: tuple[str, ...] = ()


@dataclass(slots=True)
class RBACPolicy:
    """Role name → definition, with inheritance resolved (and cycles refused) at construction."""

    roles: Mapping[str, RoleDefinition]
    _resolved: dict[str, frozenset[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in self.roles:
            self._resolved[name] = self._resolve(name, ())

    def _resolve(self, name: str, stack: tuple[str, ...]) -> frozenset[str]:
        if name in stack:
            raise ValueError(f"role inheritance cycle: {' -> '.join((*stack, name))}")
        if name not in self.roles:
            raise AuthorizationError("AUTHZ_2003", details={"role": name})
        definition = self.roles[name]
        granted = set(definition.permissions)
        for parent in definition.inherits:
            granted |= self._resolve(parent, (*stack, name))
        return frozenset(granted)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Mapping[str, Iterable[str]]]) -> RBACPolicy:
        """Build from ``{"role": {"permissions": [...], "inherits": [...]}}`` (e.g. parsed YAML)."""
        return cls(
            {
                name: RoleDefinition(frozenset(spec.get("permissions", ())), tuple(spec.get("inherits", ())))
                for name, spec in config.items()
            }
        )

    def permissions_for(self, roles: Iterable[str]) -> frozenset[str]:
        granted: set[str] = set()
        for role in roles:
            if role not in self._resolved:
                raise AuthorizationError("AUTHZ_2003", details={"role": role})
            granted |= self._resolved[role]
        return frozenset(granted)

    def allows(self, roles: Iterable[str], permission: str) -> bool:
        return any(_grants(g, permission) for g in self.permissions_for(roles))

    def check(self, principal: Principal, *permissions: str) -> None:
        """Raise AUTHZ_2001 unless ``principal`` holds every one of ``permissions``."""
        granted = self.permissions_for(principal.roles)
        # Service accounts carry their grants as scopes rather than roles.
        granted |= frozenset(principal.scopes)
        missing = [p for p in permissions if not any(_grants(g, p) for g in granted)]
        if missing:
            raise AuthorizationError("AUTHZ_2001", details={"missing_permissions": missing})

    def check_role(self, principal: Principal, *roles: str) -> None:
        """Raise AUTHZ_2001 unless ``principal`` has one of ``roles`` (directly or by inheritance)."""
        for role in roles:
            if role not in self.roles:
                raise AuthorizationError("AUTHZ_2003", details={"role": role})
        held = set(principal.roles)
        if not any(r in held or self._inherits(h, r) for r in roles for h in held if h in self.roles):
            raise AuthorizationError("AUTHZ_2001", details={"required_roles": list(roles)})

    def _inherits(self, role: str, ancestor: str) -> bool:
        parents = self.roles[role].inherits
        return ancestor in parents or any(self._inherits(p, ancestor) for p in parents if p in self.roles)


def _grants(grant: str, permission: str) -> bool:
    if grant == "*" or grant == permission:
        return True
    return grant.endswith(":*") and permission.startswith(grant[:-1])


def default_policy() -> RBACPolicy:
    """The built-in roles: user < analyst < operator < admin."""
    return RBACPolicy(
        {
            UserRole.USER: RoleDefinition(frozenset({"policy:read", "recommendation:read", "profile:write"})),
            UserRole.ANALYST: RoleDefinition(frozenset({"quality:read", "metrics:read"}), (UserRole.USER,)),
            UserRole.OPERATOR: RoleDefinition(
                frozenset({"policy:write", "pipeline:run", "sync:repair"}), (UserRole.ANALYST,)
            ),
            UserRole.ADMIN: RoleDefinition(frozenset({"*"}), (UserRole.OPERATOR,)),
            UserRole.SERVICE: RoleDefinition(frozenset()),
        }
    )


def _find_principal(sig: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Principal:
    bound = sig.bind_partial(*args, **kwargs)
    for value in bound.arguments.values():
        if isinstance(value, Principal):
            return value
    raise AuthenticationError("AUTH_1003", details={"reason": "no principal passed to a protected function"})


def _guard(check: Callable[[Principal], None]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        sig = inspect.signature(fn)
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                check(_find_principal(sig, args, kwargs))
                return await fn(*args, **kwargs)

            # For coroutine functions the async wrapper stands in for fn; mypy cannot tie the two types.
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            check(_find_principal(sig, args, kwargs))
            return fn(*args, **kwargs)

        return wrapper

    return decorate


def require_permission(
    *permissions: str, policy: RBACPolicy | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Guard a sync or async function that receives a :class:`Principal` argument."""
    chosen = policy or default_policy()
    return _guard(lambda principal: chosen.check(principal, *permissions))


def require_role(*roles: str, policy: RBACPolicy | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Guard a function by role; inherited roles count (an admin passes ``require_role("user")``)."""
    chosen = policy or default_policy()
    return _guard(lambda principal: chosen.check_role(principal, *roles))
