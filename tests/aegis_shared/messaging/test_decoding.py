"""decode_message: each kind of bad message gets its own code; newer minors are readable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aegis_shared.errors import ValidationError
from aegis_shared.events import SCHEMAS_DIR, BundledSchemas, Envelope
from aegis_shared.messaging import SchemaValidators, decode_message

GOOD = {
    "eventId": "3f1c2a5e-8a4b-4c1d-9e2f-0a1b2c3d4e5f",
    "eventType": "PolicyDeleted",
    "eventVersion": "1.0",
    "source": "policy-service",
    "timestamp": "2025-09-17T10:30:00Z",
    "correlationId": "req-1",
    "data": {"policyId": "bizinfo:1", "reason": "expired"},
}


def _bytes(**overrides: object) -> bytes:
    return json.dumps({**GOOD, **overrides}, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def registry() -> BundledSchemas:
    return BundledSchemas()


@pytest.fixture
def two_majors(tmp_path: Path) -> BundledSchemas:
    """PolicyDeleted with versions 1.0, 1.1 (adds ``note``) and 2.0 (renames the id)."""
    folder = tmp_path / "PolicyDeleted"
    folder.mkdir()
    shutil.copy(SCHEMAS_DIR / "PolicyDeleted" / "v1.json", folder / "v1.json")
    v1 = json.loads((folder / "v1.json").read_text(encoding="utf-8"))
    v2 = {
        **v1,
        "x-event-version": "1.1",
        "properties": {**v1["properties"], "note": {"type": "string", "maxLength": 5}},
    }
    v3 = {**v1, "x-event-version": "2.0", "properties": {"id": {"type": "string"}}, "required": ["id"]}
    for n, schema in ((2, v2), (3, v3)):
        (folder / f"v{n}.json").write_text(json.dumps(schema), encoding="utf-8")
    return BundledSchemas(tmp_path)


def _code(value: bytes | None, registry: object) -> str:
    with pytest.raises(ValidationError) as caught:
        decode_message(value, registry)  # type: ignore[arg-type]
    return caught.value.code


def test_a_good_message_decodes(registry: BundledSchemas) -> None:
    envelope = decode_message(_bytes(), registry)
    assert isinstance(envelope, Envelope)
    assert envelope.data["policyId"] == "bizinfo:1"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"{not json", "VALID_3009"),
        (b"", "VALID_3009"),
        (None, "VALID_3009"),
        ("정책".encode("euc-kr"), "VALID_3009"),
        (b"[1,2,3]", "VALID_3001"),
        (json.dumps({"hello": "world"}).encode(), "VALID_3001"),
        (_bytes(eventType="policy_deleted"), "VALID_3003"),
        (_bytes(timestamp="2025-09-17T10:30:00"), "VALID_3010"),
        (_bytes(eventType="PolicyExploded"), "VALID_3007"),
        (_bytes(eventVersion="2.0"), "VALID_3008"),
        (_bytes(data={"policyId": "bizinfo:1"}), "VALID_3005"),
        (_bytes(data={"policyId": 7, "reason": "x"}), "VALID_3005"),
    ],
)
def test_each_bad_message_has_its_own_code(value: bytes | None, code: str, registry: BundledSchemas) -> None:
    assert _code(value, registry) == code


def test_schema_error_names_the_pointer(registry: BundledSchemas) -> None:
    with pytest.raises(ValidationError) as caught:
        decode_message(_bytes(data={"policyId": "p", "reason": 3}), registry)
    assert caught.value.details["pointer"] == "/data/reason"


def test_newer_unknown_minor_is_read_with_the_newest_known_schema(registry: BundledSchemas) -> None:
    envelope = decode_message(
        _bytes(eventVersion="1.7", data={"policyId": "p", "reason": "expired", "addedIn17": True}), registry
    )
    assert envelope.event_version == "1.7" and envelope.data["addedIn17"] is True
    # ...but what the newest known schema does say is still enforced.
    assert _code(_bytes(eventVersion="1.7", data={"policyId": "p"}), registry) == "VALID_3005"


def test_each_version_is_validated_by_its_own_schema(two_majors: BundledSchemas) -> None:
    validators = SchemaValidators(two_majors)
    assert validators.latest("PolicyDeleted").event_version == "2.0"
    assert validators.for_version("PolicyDeleted", "1.0").registry_version == 1
    assert validators.for_version("PolicyDeleted", "1.1").registry_version == 2
    assert validators.for_version("PolicyDeleted", "1.9").registry_version == 2
    assert validators.for_version("PolicyDeleted", "2.3").registry_version == 3
    long_note = {"policyId": "p", "reason": "r", "note": "too long"}
    decode_message(_bytes(eventVersion="1.0", data=long_note), validators)  # 1.0 knows no note
    assert _code(_bytes(eventVersion="1.1", data=long_note), validators) == "VALID_3005"
    decode_message(_bytes(eventVersion="2.0", data={"id": "p"}), validators)
    assert _code(_bytes(eventVersion="3.0", data={"id": "p"}), validators) == "VALID_3008"


def test_validators_are_compiled_once_per_registry(registry: BundledSchemas) -> None:
    from aegis_shared.messaging import validators_for

    first = validators_for(registry)
    assert validators_for(registry) is first
    assert first.latest("PolicyDeleted") is first.latest("PolicyDeleted")


def test_the_schema_registry_serves_the_same_validation() -> None:
    from aegis_shared.events import SchemaRegistry
    from aegis_shared.events.registry_store import FileRegistryStore

    registry = SchemaRegistry(FileRegistryStore(SCHEMAS_DIR))
    assert decode_message(_bytes(), registry).event_type == "PolicyDeleted"
    assert _code(_bytes(data={"policyId": "p"}), registry) == "VALID_3005"
    assert _code(_bytes(eventType="PolicyExploded"), registry) == "VALID_3007"


CANONICAL = {**GOOD, "causationId": None, "metadata": {}, "timestamp": "2025-09-17T10:30:00.123456Z"}


@pytest.mark.parametrize(
    "wire",
    [
        CANONICAL,  # what our publishers write: the fast path
        {**CANONICAL, "timestamp": "2025-09-17T19:30:00+09:00"},
        {**CANONICAL, "causationId": "parent", "metadata": {"k": 1}},
        GOOD,  # optional keys left out: the pydantic path
        {**CANONICAL, "eventId": "3f1c2a5e8a4b4c1d9e2f0a1b2c3d4e5f"},
    ],
)
def test_the_fast_path_decodes_exactly_as_pydantic_does(wire: dict, registry: BundledSchemas) -> None:
    value = json.dumps(wire, ensure_ascii=False).encode()
    fast = decode_message(value, registry)
    assert fast == Envelope.from_wire(json.loads(value))
    assert fast.to_wire() == Envelope.from_wire(json.loads(value)).to_wire()


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        ({**CANONICAL, "timestamp": "2025-09-17T10:30:00"}, "VALID_3010"),
        ({**CANONICAL, "eventType": "policy_deleted"}, "VALID_3003"),
        ({**CANONICAL, "source": ""}, "VALID_3001"),
        ({**CANONICAL, "extra": 1}, "VALID_3001"),
        ({**CANONICAL, "eventId": "not-a-uuid-but-36-characters-long-xx"}, "VALID_3001"),
    ],
)
def test_what_the_fast_path_refuses_keeps_its_code(wire: dict, code: str, registry: BundledSchemas) -> None:
    with pytest.raises(ValidationError) as caught:
        decode_message(json.dumps(wire).encode(), registry)
    assert caught.value.code == code
