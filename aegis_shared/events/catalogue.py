"""The event catalogue: which event types exist, which topic entity carries each, and the bundled
JSON Schemas shipped in the package under ``aegis_shared/schemas/events/<EventType>/v<N>.json``.

Each schema file declares its envelope version in the ``x-event-version`` keyword ("major.minor");
a file without it is read as ``1.<N-1>``. :class:`BundledSchemas` reads the files directly and
offers the two calls the messaging layer needs (``versions`` and ``get``), so a service without a
registry deployment can still validate; the schema registry (``aegis_shared.events.registry``)
offers the same calls over the same files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aegis_shared.errors import ValidationError
from aegis_shared.schemas import events_dir

# Read through importlib.resources, so an installed wheel finds the same files as a checkout.
SCHEMAS_DIR: Traversable = events_dir()
EVENT_VERSION_KEYWORD = "x-event-version"
_VERSION_FILE = re.compile(r"^v([1-9]\d*)\.json$")


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One catalogued event type and the topic entity (``{env}.aegis.{entity}.v{major}``) carrying it."""

    event_type: str
    entity: str
    key_field: str
    description: str


_SPECS = (
    # Policy, plus the pipeline's own events (docs/events.md §3 describes every type)
    EventSpec("PolicyCreated", "policy", "policyId", "A policy became known to the source of truth."),
    EventSpec("PolicyUpdated", "policy", "policyId", "Fields of a policy changed."),
    EventSpec("PolicyDeleted", "policy", "policyId", "A policy was removed."),
    EventSpec("PolicyValidated", "policy", "policy_id", "Hot path stored a record as pending_validation."),
    EventSpec("PolicyQualityUpdated", "policy", "policy_id", "Cold path scored and activated or rejected."),
    # Collection: raw announcements, keyed by source:source_id so one source record keeps its order.
    EventSpec("PolicyCollected", "collection", "source_id", "A raw announcement was collected."),
    # User
    EventSpec("UserRegistered", "user", "userId", "A user signed up."),
    EventSpec("UserProfileUpdated", "user", "userId", "A user's profile changed."),
    EventSpec("UserLoggedIn", "user", "userId", "A user logged in."),
    # Recommendation
    EventSpec("RecommendationRequested", "recommendation", "userId", "A user asked for recommendations."),
    EventSpec("RecommendationGenerated", "recommendation", "userId", "Recommendations were produced."),
    EventSpec("RecommendationFeedbackReceived", "recommendation", "userId", "A user rated a recommendation."),
    # System
    EventSpec("ServiceHealthChanged", "system", "serviceName", "A service changed health state."),
    EventSpec("DataSyncCompleted", "system", "store", "A serving store finished syncing."),
    # Security
    EventSpec("AuthenticationFailed", "security", "attemptId", "A login attempt failed."),
    EventSpec("SuspiciousActivityDetected", "security", "activityId", "Behaviour matched a threat rule."),
)

CATALOGUE: Mapping[str, EventSpec] = MappingProxyType({s.event_type: s for s in _SPECS})


def get_spec(event_type: str) -> EventSpec:
    """The catalogue entry of ``event_type``; an unknown type is VALID_3007."""
    try:
        return CATALOGUE[event_type]
    except KeyError:
        raise ValidationError(
            "VALID_3007", f"unknown event type {event_type!r}", details={"event_type": event_type}
        ) from None


def event_types(entity: str | None = None) -> tuple[str, ...]:
    """Catalogued event types, optionally only those carried by ``entity``'s topic."""
    return tuple(s.event_type for s in _SPECS if entity is None or s.entity == entity)


def schema_event_version(schema: Mapping[str, Any], registry_version: int) -> str:
    """The envelope version ("major.minor") a schema describes."""
    declared = schema.get(EVENT_VERSION_KEYWORD)
    return str(declared) if declared is not None else f"1.{registry_version - 1}"


class BundledSchemas:
    """Read-only access to the schema files shipped in ``aegis_shared/schemas/events``.

    ``root`` may be any directory (a ``Path`` or a string) or an ``importlib.resources`` folder.
    """

    def __init__(self, root: Traversable | str = SCHEMAS_DIR) -> None:
        self.root: Traversable = Path(root) if isinstance(root, str) else root
        self._cache: dict[tuple[str, int], dict[str, Any]] = {}

    def subjects(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, subject: str) -> list[int]:
        folder = self.root.joinpath(subject)
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_FILE.match(p.name)))

    def get(self, subject: str, version: int | str = "latest") -> dict[str, Any]:
        """The schema of ``subject`` at ``version`` (an int or "latest"); VALID_3007 if absent."""
        versions = self.versions(subject)
        if not versions:
            raise ValidationError(
                "VALID_3007", f"no schema registered for {subject!r}", details={"event_type": subject}
            )
        number = versions[-1] if version == "latest" else int(version)
        if number not in versions:
            raise ValidationError(
                "VALID_3007",
                f"{subject!r} has no schema version {number}",
                details={"event_type": subject, "version": number},
            )
        if (subject, number) not in self._cache:
            path = self.root.joinpath(subject, f"v{number}.json")
            self._cache[(subject, number)] = json.loads(path.read_text(encoding="utf-8"))
        return self._cache[(subject, number)]
