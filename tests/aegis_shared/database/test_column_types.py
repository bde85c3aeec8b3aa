"""Registry type strings parse into the PostgreSQL types a reflected database reports."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from aegis_shared.database.column_types import is_widening, parse_column_type, type_from_sqlalchemy


@pytest.mark.parametrize(
    ("text", "compiled"),
    [
        ("VARCHAR(255)", "VARCHAR(255)"),
        ("TEXT[]", "TEXT[]"),
        ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"),
        ("TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE"),
        ("DECIMAL(15,2)", "NUMERIC(15, 2)"),
        ("double precision", "DOUBLE PRECISION"),
        ("BIGSERIAL", "BIGINT"),
        ("jsonb", "JSONB"),
        ("UUID", "UUID"),
    ],
)
def test_types_compile_to_postgresql(text: str, compiled: str) -> None:
    assert parse_column_type(text).to_sqlalchemy().compile(dialect=postgresql.dialect()) == compiled


def test_round_trip_through_sqlalchemy() -> None:
    for text in ("VARCHAR(20)", "NUMERIC(10,2)", "TEXT[]", "TIMESTAMPTZ", "BIGINT"):
        parsed = parse_column_type(text)
        assert type_from_sqlalchemy(parsed.to_sqlalchemy()) == parsed


@pytest.mark.parametrize("text", ["VARCHR(10)", "INTEGER(", "", "not a type at all"])
def test_unknown_types_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="column type"):
        parse_column_type(text)


def test_serial_is_flagged_and_families_group_compatible_keys() -> None:
    assert parse_column_type("BIGSERIAL").serial
    assert parse_column_type("BIGSERIAL").family == parse_column_type("INTEGER").family
    assert parse_column_type("VARCHAR(10)").family == parse_column_type("TEXT").family
    assert parse_column_type("UUID").family != parse_column_type("TEXT").family


@pytest.mark.parametrize(
    ("old", "new", "widening"),
    [
        ("VARCHAR(10)", "VARCHAR(20)", True),
        ("VARCHAR(20)", "VARCHAR(10)", False),
        ("VARCHAR(20)", "TEXT", True),
        ("TEXT", "VARCHAR(20)", False),
        ("INTEGER", "BIGINT", True),
        ("BIGINT", "INTEGER", False),
        ("NUMERIC(10,2)", "NUMERIC(12,2)", True),
        ("NUMERIC(10,2)", "NUMERIC(10,1)", False),
        ("TEXT", "INTEGER", False),
        ("REAL", "DOUBLE PRECISION", True),
    ],
)
def test_widening_versus_narrowing(old: str, new: str, widening: bool) -> None:
    assert is_widening(parse_column_type(old), parse_column_type(new)) is widening
