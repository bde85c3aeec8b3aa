"""Registered error codes and the exceptions that carry them.

Every failure a user can meet carries a code from :mod:`aegis_shared.errors.registry`, so
services, pipelines and API responses all speak the same vocabulary.
"""

from aegis_shared.errors.exceptions import (
    AegisError,
    AuthenticationError,
    AuthorizationError,
    BusinessError,
    DatabaseError,
    ExternalServiceError,
    PipelineError,
    SystemError_,
    ValidationError,
)
from aegis_shared.errors.registry import (
    ErrorCategory,
    ErrorDefinition,
    all_definitions,
    get_definition,
    is_registered,
)

__all__ = [
    "AegisError",
    "AuthenticationError",
    "AuthorizationError",
    "BusinessError",
    "DatabaseError",
    "ErrorCategory",
    "ErrorDefinition",
    "ExternalServiceError",
    "PipelineError",
    "SystemError_",
    "ValidationError",
    "all_definitions",
    "get_definition",
    "is_registered",
]
