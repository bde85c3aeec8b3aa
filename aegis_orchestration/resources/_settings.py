"""Resolve a resource's optional overrides against the process settings."""

from __future__ import annotations

from typing import Any

from aegis_shared.config import Settings, get_settings


def resolve(overrides: dict[str, Any]) -> Settings:
    """Settings from ``AEGIS_*`` with the resource's non-empty fields layered on top."""
    base = get_settings()
    changes = {key: value for key, value in overrides.items() if value not in (None, "")}
    return base.model_copy(update=changes) if changes else base
