"""The hot-path core shared by the Dagster job and ``aegis hot-path serve``: records in, rows and events out.

:meth:`HotPathProcessor.process` examines a batch of Kafka records, stages it (one transaction per
``batch_size`` records: rows + outbox) and then lets the outbox relay publish. The split into
:meth:`stage` and :meth:`publish` is the crash boundary the outbox makes safe: whatever was
staged is published by the next :meth:`publish` of any processor, whichever process dies.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import sqlalchemy as sa

from aegis_orchestration.hot_path.intake import SourceRecord, examine_all
from aegis_orchestration.hot_path.staging import StageReport, stage
from aegis_orchestration.pipeline.outbox import OutboxRelay
from aegis_shared.config import Settings
from aegis_shared.events.catalogue import BundledSchemas
from aegis_shared.events.topics import ensure_topics
from aegis_shared.messaging import EventPublisher, SchemaValidators, validators_for

DEFAULT_BATCH_SIZE = 1000


@dataclass(slots=True)
class BatchResult:
    """A processed batch: what staging did, what the relay published, and how long each took."""

    stage: StageReport = field(default_factory=StageReport)
    published: int = 0
    stage_seconds: float = 0.0
    publish_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.stage_seconds + self.publish_seconds

    def as_metadata(self) -> dict[str, Any]:
        records = self.stage.records
        return {
            **self.stage.as_metadata(),
            "events_published": self.published,
            "stage_ms": round(self.stage_seconds * 1000, 2),
            "publish_ms": round(self.publish_seconds * 1000, 2),
            "ms_per_record": round(self.seconds * 1000 / records, 4) if records else 0.0,
        }


@cache
def _bundled_validators() -> SchemaValidators:
    return validators_for(BundledSchemas())


class HotPathProcessor:
    """Examine → stage (rows + outbox, atomically) → publish the outbox."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        validators: SchemaValidators | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        ensure: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.engine = engine
        self.settings = settings
        self.batch_size = batch_size
        self.validators = validators or _bundled_validators()
        self.dlq_topic = settings.topic("dlq")
        if ensure:
            # The policy and DLQ topics must exist before the relay produces to them.
            ensure_topics(settings.kafka_bootstrap, settings, entities=["policy", "dlq"])
        # The publisher is used for building (schema validation + envelope); the relay sends bytes.
        self._builder = EventPublisher(settings.kafka_bootstrap, self.validators, settings=settings)
        self.relay = OutboxRelay(engine, settings.kafka_bootstrap)

    def stage(self, records: Sequence[SourceRecord]) -> StageReport:
        """Examine and stage ``records`` in fixed chunks, one transaction each; publishes nothing."""
        total = StageReport()
        for start in range(0, len(records), self.batch_size):
            accepted, refused = examine_all(records[start : start + self.batch_size], self.validators)
            with self.engine.begin() as connection:
                total.merge(
                    stage(connection, accepted, refused, builder=self._builder, dlq_topic=self.dlq_topic)
                )
        return total

    def publish(self) -> int:
        """Publish every unpublished outbox entry (this batch's and any earlier crashed one's)."""
        return self.relay.publish_pending()

    def process(self, records: Sequence[SourceRecord]) -> BatchResult:
        """Stage, then publish; when this returns, the batch is durable in Postgres and Kafka."""
        result = BatchResult()
        started = time.perf_counter()
        result.stage = self.stage(records)
        staged = time.perf_counter()
        result.published = self.publish()
        result.stage_seconds = staged - started
        result.publish_seconds = time.perf_counter() - staged
        return result

    def close(self) -> None:
        self.relay.close()
        self._builder.close()

    def __enter__(self) -> HotPathProcessor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
