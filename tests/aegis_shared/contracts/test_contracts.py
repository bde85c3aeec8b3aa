"""Contracts are checked at construction; the validator names failing pointers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticValidationError

from aegis_shared.contracts import APIEndpoint, ContractValidator, ServiceContract, json_pointer
from aegis_shared.errors import ValidationError
from aegis_shared.models.enums import HTTPMethod

POLICY_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "content": {"type": "string"},
        "deadline": {"type": "string", "format": "date"},
        "regions": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{2}$"}},
        "a/b": {"type": "integer"},
    },
    "required": ["title", "content"],
    "additionalProperties": False,
}


@pytest.fixture
def validator() -> ContractValidator:
    contract = ServiceContract(
        service_name="policy-service",
        version="1.0.0",
        base_url="http://policy-service:8000",
        endpoints=(
            APIEndpoint(
                path="/api/v1/policies",
                method=HTTPMethod.POST,
                summary="Create a policy",
                request_schema=POLICY_SCHEMA,
                response_schema={
                    "type": "object",
                    "required": ["policy_id"],
                    "properties": {"policy_id": {"type": "string"}},
                },
                error_codes=("VALID_3001", "DB_4002"),
            ),
            APIEndpoint(
                path="/api/v1/policies/{policy_id}",
                method=HTTPMethod.GET,
                summary="Read a policy",
                response_schema={"type": "object", "properties": {"title": {"type": "string"}}},
            ),
            APIEndpoint(
                path="/api/v1/policies/stats",
                method="GET",
                summary="Stats",
                response_schema={"type": "object"},
            ),
        ),
    )
    return ContractValidator([contract])


def test_valid_request_and_response_pass(validator: ContractValidator) -> None:
    validator.validate_request(
        "policy-service", "POST", "/api/v1/policies", {"title": "창업지원", "content": "내용"}
    )
    validator.validate_response("policy-service", HTTPMethod.POST, "/api/v1/policies", {"policy_id": "p-1"})


def test_errors_name_each_failing_pointer(validator: ContractValidator) -> None:
    bad = {"title": "", "deadline": "2026-13-45", "regions": ["11", "seoul"], "a/b": "x", "extra": 1}
    with pytest.raises(ValidationError) as exc:
        validator.validate_request("policy-service", "POST", "/api/v1/policies", bad)
    err = exc.value
    assert err.code == "VALID_3001" and err.http_status == 400
    pointers = {e["pointer"] for e in err.details["errors"]}
    assert pointers == {"/title", "/content", "/deadline", "/regions/1", "/a~1b", ""}
    missing = next(e for e in err.details["errors"] if e["validator"] == "required")
    assert missing == {"pointer": "/content", "validator": "required", "expected": ["content"]}
    assert err.details["pointer"] in pointers


def test_error_bodies_do_not_echo_submitted_values(validator: ContractValidator) -> None:
    with pytest.raises(ValidationError) as exc:
        validator.validate_request(
            "policy-service",
            "POST",
            "/api/v1/policies",
            {"title": "t", "content": "c", "a/b": "SECRET-TOKEN-123"},
        )
    assert "SECRET-TOKEN-123" not in str(exc.value.to_dict())


def test_response_violations_are_reported(validator: ContractValidator) -> None:
    with pytest.raises(ValidationError) as exc:
        validator.validate_response("policy-service", "GET", "/api/v1/policies/abc", {"title": 5})
    assert exc.value.details["pointer"] == "/title"
    assert exc.value.details["direction"] == "response"


def test_templated_and_literal_paths(validator: ContractValidator) -> None:
    contract = validator.contract("policy-service")
    assert contract.get_endpoint("GET", "/api/v1/policies/p-9").path == "/api/v1/policies/{policy_id}"
    assert contract.get_endpoint("GET", "/api/v1/policies/stats").path == "/api/v1/policies/stats"
    assert contract.get_endpoint("DELETE", "/api/v1/policies/p-9") is None
    assert contract.get_endpoint("GET", "/api/v1/policies/p-9/extra") is None


def test_unknown_service_and_endpoint_are_coded(validator: ContractValidator) -> None:
    with pytest.raises(ValidationError) as exc:
        validator.validate_request("nope", "GET", "/", {})
    assert exc.value.details == {"service": "nope"}
    with pytest.raises(ValidationError) as exc:
        validator.validate_request("policy-service", "PUT", "/api/v1/policies", {})
    assert exc.value.code == "VALID_3001"


def test_bad_contracts_are_refused_when_built() -> None:
    with pytest.raises(PydanticValidationError, match="start with /"):
        APIEndpoint(path="policies", method="GET", summary="x", response_schema={})
    with pytest.raises(PydanticValidationError, match="unregistered"):
        APIEndpoint(path="/p", method="GET", summary="x", response_schema={}, error_codes=("NOPE_1",))
    with pytest.raises(ValidationError) as exc:
        APIEndpoint(path="/p", method="GET", summary="x", response_schema={"type": "objekt"})
    assert exc.value.code == "VALID_3012"
    with pytest.raises(PydanticValidationError, match="SemVer"):
        ServiceContract(service_name="s", version="1.0", base_url="http://s", endpoints=())
    endpoint = APIEndpoint(path="/p", method="GET", summary="x", response_schema={})
    with pytest.raises(PydanticValidationError, match="duplicate"):
        ServiceContract(
            service_name="s", version="1.0.0", base_url="http://s", endpoints=(endpoint, endpoint)
        )


def test_json_pointer_escaping() -> None:
    assert json_pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"
