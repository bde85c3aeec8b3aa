"""Service API contracts: endpoints with request and response JSON Schemas.

Contracts are checked when they are built: paths start with ``/``, every schema is a valid
JSON Schema (Draft 2020-12), every error code an endpoint declares is registered, and no
method + path appears twice.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aegis_shared.errors import ValidationError, is_registered
from aegis_shared.models.enums import HTTPMethod

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _check_schema(schema: dict[str, Any] | None, where: str) -> None:
    if schema is None:
        return
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        pointer = "/" + "/".join(str(p) for p in exc.path) if exc.path else ""
        raise ValidationError(
            "VALID_3012", f"Invalid JSON Schema in {where}", details={"where": where, "pointer": pointer}
        ) from None


class APIEndpoint(BaseModel):
    """One endpoint: ``path`` may hold ``{param}`` segments (``/api/v1/policies/{policy_id}``)."""

    model_config = ConfigDict(frozen=True)

    path: str
    method: HTTPMethod
    summary: str
    description: str | None = None
    request_schema: dict[str, Any] | None = None
    response_schema: dict[str, Any]
    error_codes: tuple[str, ...] = ()

    @field_validator("path")
    @classmethod
    def _path_starts_with_slash(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("path must start with /")
        return value

    @field_validator("error_codes")
    @classmethod
    def _codes_registered(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in codes if not is_registered(c)]
        if unknown:
            raise ValueError(f"unregistered error codes: {unknown}")
        return codes

    @model_validator(mode="after")
    def _schemas_valid(self) -> APIEndpoint:
        _check_schema(self.request_schema, f"{self.method} {self.path} request")
        _check_schema(self.response_schema, f"{self.method} {self.path} response")
        return self

    def matches(self, method: HTTPMethod | str, path: str) -> bool:
        return HTTPMethod(method) is self.method and self.path_pattern.fullmatch(path) is not None

    @property
    def path_pattern(self) -> re.Pattern[str]:
        return re.compile(
            _PARAM.sub(r"(?P<\1>[^/]+)", re.escape(self.path).replace(r"\{", "{").replace(r"\}", "}"))
        )


class ServiceContract(BaseModel):
    model_config = ConfigDict(frozen=True)

    service_name: str = Field(min_length=1)
    version: str
    base_url: str
    endpoints: tuple[APIEndpoint, ...]

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not _SEMVER.fullmatch(value):
            raise ValueError("version must be SemVer (MAJOR.MINOR.PATCH)")
        return value

    @model_validator(mode="after")
    def _unique_routes(self) -> ServiceContract:
        seen: set[tuple[HTTPMethod, str]] = set()
        for endpoint in self.endpoints:
            route = (endpoint.method, endpoint.path)
            if route in seen:
                raise ValueError(f"duplicate endpoint {endpoint.method} {endpoint.path}")
            seen.add(route)
        return self

    def get_endpoint(self, method: HTTPMethod | str, path: str) -> APIEndpoint | None:
        """The endpoint for a concrete request path; literal paths win over templated ones."""
        for endpoint in self.endpoints:
            if endpoint.path == path and endpoint.method is HTTPMethod(method):
                return endpoint
        return next((e for e in self.endpoints if e.matches(method, path)), None)
