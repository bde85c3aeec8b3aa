"""Structured logging: JSON lines, contextvars context and redaction of secrets and personal data."""

from aegis_shared.logging.redaction import (
    REDACTED,
    clear_registered_secrets,
    mask_text,
    redact,
    redact_value,
    register_secrets,
)
from aegis_shared.logging.setup import (
    CONTEXT_KEYS,
    RedactingFilter,
    add_error_resolution,
    bind_context,
    bound_context,
    clear_context,
    configure_logging,
    get_logger,
    install_record_redaction,
    redact_record,
)

__all__ = [
    "CONTEXT_KEYS",
    "REDACTED",
    "RedactingFilter",
    "add_error_resolution",
    "bind_context",
    "bound_context",
    "clear_context",
    "clear_registered_secrets",
    "configure_logging",
    "get_logger",
    "install_record_redaction",
    "mask_text",
    "redact",
    "redact_record",
    "redact_value",
    "register_secrets",
]
