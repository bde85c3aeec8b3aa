"""Kafka (Apache Kafka in the local stack) as a Dagster resource: the publisher and consumer settings."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from aegis_orchestration.resources._settings import resolve
from aegis_shared.config import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa

    from aegis_shared.messaging import EventPublisher


class KafkaResource(dg.ConfigurableResource):
    """Publishes registered events and hands out consumer configuration."""

    bootstrap: str | None = Field(None, description="Overrides AEGIS_KAFKA_BOOTSTRAP.")
    env: str | None = Field(None, description="Overrides AEGIS_ENV (topic prefix).")

    def settings(self) -> Settings:
        return resolve({"kafka_bootstrap": self.bootstrap, "env": self.env})

    def publisher(self) -> EventPublisher:
        """A publisher validating against the bundled ``schemas/events``; topics exist once it returns."""
        from aegis_shared.messaging import EventPublisher

        settings = self.settings()
        _ensure_topics(settings.kafka_bootstrap, settings.env)
        return EventPublisher(settings.kafka_bootstrap, _bundled_schemas(), settings=settings)

    def relay_outbox(self, engine: sa.Engine) -> int:
        """Publish every pending outbox entry (topics ensured first); what every asset calls after
        committing rows with their events. Returns how many entries were published."""
        from aegis_orchestration.pipeline.outbox import relay_pending

        settings = self.settings()
        _ensure_topics(settings.kafka_bootstrap, settings.env)
        return relay_pending(engine, settings.kafka_bootstrap)

    def consumer_config(self, **overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap.servers": self.settings().kafka_bootstrap,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
        config.update(overrides)
        return config


@cache
def _bundled_schemas() -> Any:
    from aegis_shared.events.catalogue import BundledSchemas

    return BundledSchemas()


@cache
def _ensure_topics(bootstrap: str, env: str) -> None:
    # Once per process and broker: topic creation is idempotent but costs a metadata round trip.
    from aegis_shared.events.catalogue import CATALOGUE
    from aegis_shared.events.envelope import parse_event_version
    from aegis_shared.events.topics import ensure_topics

    settings = resolve({"kafka_bootstrap": bootstrap, "env": env})
    ensure_topics(bootstrap, settings)
    # An event type whose latest version is a new major (DataSyncCompleted 2.0) publishes to
    # that major's topic, which must exist too.
    schemas = _bundled_schemas()
    majors: dict[int, set[str]] = {}
    for spec in CATALOGUE.values():
        latest = schemas.get(spec.event_type)
        major = parse_event_version(latest.get("x-event-version", "1.0"))[0]
        if major > 1:
            majors.setdefault(major, set()).add(spec.entity)
    for major, entities in sorted(majors.items()):
        ensure_topics(bootstrap, settings, entities=sorted(entities), major=major)
