"""Small builders for registry table dicts used across the database tests."""

from __future__ import annotations


def table(
    name: str, *columns: dict, references: list | None = None, indexes: list | None = None, owner: str = "svc"
) -> dict:
    """A minimal valid table dict with an ``id`` text primary key plus ``columns``."""
    return {
        "name": name,
        "owner": owner,
        "version": "1.0.0",
        "columns": [{"name": "id", "type": "TEXT", "primary_key": True}, *columns],
        "references": references or [],
        "indexes": indexes or [],
    }


def ref(target: str, fk: str, column: str = "id", **extra: str) -> dict:
    return {"schema": target, "column": column, "foreign_key": fk, **extra}
