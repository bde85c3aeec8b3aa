"""What another team does with the installed wheel, run by ``test_wheel.py`` in a fresh venv.

It is run with ``python -I`` from a directory outside the checkout, so every import resolves to
the installed wheel. It prints one JSON object the test reads; nothing here imports the tests.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import sys
from typing import Any

import aegis_shared
from aegis_shared.auth import JWTHandler, KeyRing
from aegis_shared.database import SchemaRegistry, default_registry_dir
from aegis_shared.errors import AegisError, AuthenticationError, ValidationError
from aegis_shared.events import BundledSchemas, Envelope, check_compatibility
from aegis_shared.messaging import SchemaValidators, decode_message

report: dict[str, Any] = {"aegis_shared": aegis_shared.__file__}

# 1. Build an event, validate its data against the bundled schema, and read it back from bytes.
schemas = BundledSchemas()
validators = SchemaValidators(schemas)
event = Envelope(
    event_type="PolicyDeleted",
    source="partner-service",
    correlation_id="req-1",
    data={"policyId": "bizinfo:PBLN_1", "reason": "withdrawn"},
)
validators.validate(validators.latest("PolicyDeleted"), event.data)
decoded = decode_message(event.to_bytes(), schemas)
report["event"] = {"type": decoded.event_type, "version": decoded.event_version, "data": decoded.data}
try:
    bad = event.model_copy(update={"data": {"policyId": "bizinfo:PBLN_1"}})
    decode_message(bad.to_bytes(), schemas)
except ValidationError as exc:
    report["invalid_event"] = {"code": exc.code, "pointer": exc.details["pointer"]}
report["subjects"] = schemas.subjects()

# 2. Compatibility of two candidate versions of the bundled schema (Confluent's BACKWARD rules).
v1 = dict(schemas.get("PolicyDeleted", 1))
relaxed = copy.deepcopy(v1)
del relaxed["properties"]["reason"]["minLength"]
stricter = copy.deepcopy(v1)
stricter["required"] = [*v1["required"], "title"]
broken = check_compatibility(v1, stricter, "BACKWARD")
report["compatibility"] = {
    "relaxed": check_compatibility(v1, relaxed, "BACKWARD").is_compatible,
    "stricter": broken.is_compatible,
    "breaking": [(change.kind, change.pointer) for change in broken.breaking_changes],
}

# 3. The database schema registry shipped in the wheel, and its migration order.
registry = SchemaRegistry.load()
order = registry.migration_order()
print("migration order:", " -> ".join(order), file=sys.stderr)
report["registry"] = {
    "dir": str(default_registry_dir()),
    "order": order,
    "dependencies": {name: registry.dependencies(name) for name in order},
}

# 4. A coded error, as an API would render it.
try:
    raise ValidationError("VALID_3002", "title is required", details={"field": "title"})
except AegisError as exc:
    report["error"] = exc.to_dict()

# 5. Sign and verify a JWT; a token signed with another key is refused with its code.
handler = JWTHandler(KeyRing.single("k1", "a-shared-secret-of-32-bytes-or-more!"), issuer="aegis")
principal = handler.verify_access_token(handler.create_access_token("user-7", roles=["admin"]))
report["jwt"] = {"subject": principal.subject, "roles": list(principal.roles)}
forged = JWTHandler(KeyRing.single("k1", "another-secret-of-32-bytes-or-more!!"), issuer="aegis")
try:
    handler.verify_access_token(forged.create_access_token("user-7", roles=["admin"]))
except AuthenticationError as exc:
    report["forged_jwt"] = exc.code

# 6. What the core does not install, and the error each missing extra gives.
report["installed"] = {
    name: importlib.util.find_spec(name) is not None
    for name in ("dagster", "confluent_kafka", "redis", "fastapi", "pandas", "pymilvus")
}
report["missing_extras"] = {}
for label, attempt in {
    "messaging.EventPublisher": lambda: importlib.import_module("aegis_shared.messaging").EventPublisher,
    "aegis_shared.messaging.publisher": lambda: importlib.import_module("aegis_shared.messaging.publisher"),
    "aegis_shared.cache": lambda: importlib.import_module("aegis_shared.cache"),
    "aegis_shared.api": lambda: importlib.import_module("aegis_shared.api"),
    "aegis_orchestration": lambda: importlib.import_module("aegis_orchestration"),
}.items():
    try:
        attempt()
        report["missing_extras"][label] = None
    except ImportError as exc:
        report["missing_extras"][label] = {
            "code": getattr(exc, "code", None),
            "extra": getattr(exc, "extra", None),
            "message": str(exc),
        }

print(json.dumps(report, default=str))
