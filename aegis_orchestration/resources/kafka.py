"""Kafka (Tansu locally) as a Dagster resource: the event publisher and consumer settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from aegis_orchestration.resources._settings import resolve
from aegis_shared.config import Settings

if TYPE_CHECKING:
    from aegis_shared.messaging import EventPublisher


class KafkaResource(dg.ConfigurableResource):
    """Publishes registered events and hands out consumer configuration."""

    bootstrap: str | None = Field(None, description="Overrides AEGIS_KAFKA_BOOTSTRAP.")
    env: str | None = Field(None, description="Overrides AEGIS_ENV (topic prefix).")

    def settings(self) -> Settings:
        return resolve({"kafka_bootstrap": self.bootstrap, "env": self.env})

    def publisher(self) -> EventPublisher:
        from aegis_shared.messaging import EventPublisher

        return EventPublisher.from_settings(self.settings())

    def consumer_config(self, **overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap.servers": self.settings().kafka_bootstrap,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
        config.update(overrides)
        return config
