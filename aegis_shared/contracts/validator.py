"""Validate requests and responses against registered service contracts.

Errors name the failing JSON pointer (RFC 6901) of every problem, so a client can show the
message next to the right field. For a missing required property the pointer names the
missing property itself (``/content``), not the object that lacks it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaViolation

from aegis_shared.contracts.service_contract import APIEndpoint, ServiceContract
from aegis_shared.errors import ValidationError
from aegis_shared.models.enums import HTTPMethod

MAX_REPORTED_ERRORS = 20


def json_pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _pointer(error: SchemaViolation) -> str:
    parts = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in _required_names(error) if name not in error.instance]
        if missing:
            parts.append(missing[0])
    return json_pointer(parts)


def _required_names(error: SchemaViolation) -> list[str]:
    """The names a ``required`` keyword lists (jsonschema types ``validator_value`` as maybe unset)."""
    value = error.validator_value
    return [str(name) for name in value] if isinstance(value, list | tuple) else []


def _expected(error: SchemaViolation) -> Any:
    """What the schema wanted. jsonschema's own message quotes the offending value, which may be
    a secret or personal data, so it never goes into an error body."""
    if error.validator == "required":
        return [
            n
            for n in _required_names(error)
            if not isinstance(error.instance, dict) or n not in error.instance
        ]
    value = error.validator_value
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list) and len(value) <= 20 and all(isinstance(v, str | int | float) for v in value):
        return value
    return None


class _CompiledEndpoint:
    def __init__(self, endpoint: APIEndpoint) -> None:
        self.endpoint = endpoint

    @cached_property
    def request(self) -> Draft202012Validator | None:
        schema = self.endpoint.request_schema
        return (
            None
            if schema is None
            else Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        )

    @cached_property
    def response(self) -> Draft202012Validator:
        return Draft202012Validator(
            self.endpoint.response_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )


class ContractValidator:
    """Holds contracts by service name; validators are compiled once per endpoint."""

    def __init__(self, contracts: list[ServiceContract] | None = None) -> None:
        self._contracts: dict[str, ServiceContract] = {}
        self._compiled: dict[int, _CompiledEndpoint] = {}
        for contract in contracts or ():
            self.register_contract(contract)

    def register_contract(self, contract: ServiceContract) -> None:
        self._contracts[contract.service_name] = contract
        for endpoint in contract.endpoints:
            self._compiled[id(endpoint)] = _CompiledEndpoint(endpoint)

    def contract(self, service_name: str) -> ServiceContract:
        try:
            return self._contracts[service_name]
        except KeyError:
            raise ValidationError(
                "VALID_3001", "Unknown service contract", details={"service": service_name}
            ) from None

    def endpoint(self, service_name: str, method: HTTPMethod | str, path: str) -> APIEndpoint:
        found = self.contract(service_name).get_endpoint(method, path)
        if found is None:
            raise ValidationError(
                "VALID_3001",
                "Endpoint is not part of the service contract",
                details={"service": service_name, "method": str(method), "path": path},
            )
        return found

    def validate_request(self, service_name: str, method: HTTPMethod | str, path: str, data: Any) -> None:
        """Raise VALID_3001 listing every violation, each with its pointer, or return quietly."""
        endpoint = self.endpoint(service_name, method, path)
        validator = self._compiled[id(endpoint)].request
        if validator is not None:
            self._raise_on_errors(validator, data, "request", endpoint)

    def validate_response(self, service_name: str, method: HTTPMethod | str, path: str, data: Any) -> None:
        endpoint = self.endpoint(service_name, method, path)
        self._raise_on_errors(self._compiled[id(endpoint)].response, data, "response", endpoint)

    @staticmethod
    def _raise_on_errors(
        validator: Draft202012Validator, data: Any, direction: str, endpoint: APIEndpoint
    ) -> None:
        errors = sorted(
            validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.validator)
        )
        if not errors:
            return
        first = _pointer(errors[0])
        raise ValidationError(
            "VALID_3001",
            f"{direction} does not match the contract at {first or '/'}",
            details={
                "direction": direction,
                "endpoint": f"{endpoint.method} {endpoint.path}",
                "pointer": first,
                "errors": [
                    {"pointer": _pointer(e), "validator": str(e.validator), "expected": _expected(e)}
                    for e in errors[:MAX_REPORTED_ERRORS]
                ],
            },
        )
