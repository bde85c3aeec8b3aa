"""Service API contracts and their JSON Schema validator."""

from aegis_shared.contracts.service_contract import APIEndpoint, ServiceContract
from aegis_shared.contracts.validator import ContractValidator, json_pointer

__all__ = ["APIEndpoint", "ContractValidator", "ServiceContract", "json_pointer"]
