"""SchemaValidators: one batch call gives the verdict, and the error, of item-by-item validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from aegis_shared.errors import ValidationError
from aegis_shared.events import BundledSchemas
from aegis_shared.messaging import SchemaValidators
from aegis_shared.messaging.validation import CompiledSchema

# An own $id, local $defs reached by $ref: a batch must resolve them as the schema alone does.
REFERENCING = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://aegis.example/schemas/grant.json",
    "x-event-version": "1.0",
    "type": "object",
    "properties": {"amount": {"$ref": "#/$defs/won"}, "deadline": {"type": "string"}},
    "required": ["amount"],
    "$defs": {"won": {"type": "integer", "minimum": 1}},
}
# Draft 4's boolean exclusiveMinimum: keywords must keep their dialect inside the batch.
DRAFT4 = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "x-event-version": "1.0",
    "type": "object",
    "properties": {"share": {"type": "number", "minimum": 0, "exclusiveMinimum": True}},
}


def _compiled(tmp_path: Path, schema: dict[str, Any]) -> CompiledSchema:
    folder = tmp_path / "Sample"
    folder.mkdir()
    (folder / "v1.json").write_text(json.dumps(schema), encoding="utf-8")
    return SchemaValidators(BundledSchemas(tmp_path)).latest("Sample")


def _error(call: Any, *args: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        call(*args)
    return caught.value


def test_a_batch_resolves_the_schemas_own_references(tmp_path: Path) -> None:
    compiled = _compiled(tmp_path, REFERENCING)
    assert compiled.fast_many is not None  # the batch really is one Rust call here
    good = [{"amount": n} for n in range(1, 50)]
    SchemaValidators.validate_many(compiled, good)
    bad = [*good[:7], {"amount": 0}, *good[7:], {"deadline": 3}]
    batch_error = _error(SchemaValidators.validate_many, compiled, bad)
    # The first bad item's error, exactly as validating it alone reports it.
    alone = _error(SchemaValidators.validate, compiled, {"amount": 0})
    assert batch_error.code == "VALID_3005"
    assert batch_error.details == alone.details
    assert batch_error.details["pointer"] == "/data/amount"


def test_a_batch_keeps_the_schemas_dialect(tmp_path: Path) -> None:
    compiled = _compiled(tmp_path, DRAFT4)
    SchemaValidators.validate_many(compiled, [{"share": 0.5}, {"share": 1}])
    error = _error(SchemaValidators.validate_many, compiled, [{"share": 0.5}, {"share": 0}])
    assert error.details["pointer"] == "/data/share"


def test_values_the_rust_validator_cannot_read_get_the_python_verdict(tmp_path: Path) -> None:
    compiled = _compiled(tmp_path, REFERENCING)
    # A read-only mapping is still an object; a datetime where a string is required is not.
    SchemaValidators.validate(compiled, MappingProxyType({"amount": 5}))
    SchemaValidators.validate_many(compiled, [{"amount": 5}, MappingProxyType({"amount": 6})])
    error = _error(
        SchemaValidators.validate_many,
        compiled,
        [{"amount": 5}, {"amount": 5, "deadline": datetime(2026, 1, 1, tzinfo=UTC)}],
    )
    assert error.code == "VALID_3005" and error.details["pointer"] == "/data/deadline"


def test_an_empty_batch_is_valid(tmp_path: Path) -> None:
    SchemaValidators.validate_many(_compiled(tmp_path, REFERENCING), [])
