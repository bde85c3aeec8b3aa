"""Kafka topics: names ``{env}.aegis.{entity}.v{major}`` and their partitions/retention.

Partitions and retention are listed in docs/events.md §2. Collection carries the raw
announcement stream at policy-like volume but only needs a replay window (raw rows land in
PostgreSQL), so 6 partitions and 7 days; the DLQ keeps failed messages 30 days so an operator
has time to inspect and replay them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from aegis_shared._extras import require_extra
from aegis_shared.config import Settings
from aegis_shared.errors import ExternalServiceError, SystemError_

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

_DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    entity: str
    partitions: int
    replication_factor: int
    retention_days: int

    @property
    def retention_ms(self) -> int:
        return self.retention_days * _DAY_MS

    def name(self, settings: Settings, major: int = 1) -> str:
        return settings.topic(self.entity, major)


TOPICS: Mapping[str, TopicSpec] = MappingProxyType(
    {
        s.entity: s
        for s in (
            TopicSpec("policy", 6, 3, 30),
            TopicSpec("user", 3, 3, 7),
            TopicSpec("recommendation", 6, 3, 7),
            TopicSpec("system", 3, 3, 3),
            TopicSpec("security", 3, 3, 90),
            TopicSpec("collection", 6, 3, 7),
            TopicSpec("dlq", 3, 3, 30),
        )
    }
)


def topic_name(settings: Settings, entity: str, major: int = 1) -> str:
    """The topic for ``entity`` at ``major``; unknown entities are a configuration error."""
    if entity not in TOPICS:
        raise SystemError_(
            "SYS_7003",
            f"unknown topic entity {entity!r}",
            details={"entity": entity, "known": sorted(TOPICS)},
        )
    return settings.topic(entity, major)


def ensure_topics(
    admin_or_bootstrap: AdminClient | str,
    settings: Settings,
    *,
    entities: Iterable[str] | None = None,
    major: int = 1,
    timeout: float = 30.0,
) -> dict[str, Literal["created", "exists"]]:
    """Create the topics of ``entities`` (default: all) if missing; existing ones are left as they are.

    The replication factor is capped at the number of brokers, so the same call works against a
    single local broker and a production cluster. Returns each topic's outcome.
    """
    # Topic names need no client; creating them does (the ``kafka`` extra).
    require_extra("kafka", "aegis_shared.events.ensure_topics")
    from confluent_kafka import KafkaError, KafkaException

    # The package's stubs leave NewTopic out of confluent_kafka.admin's exports; it is public API.
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = (
        AdminClient({"bootstrap.servers": admin_or_bootstrap})
        if isinstance(admin_or_bootstrap, str)
        else admin_or_bootstrap
    )
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ExternalServiceError("EXT_5005", f"cannot reach Kafka: {exc}") from exc
    broker_count = max(1, len(metadata.brokers))
    wanted = [TOPICS[e] for e in (entities if entities is not None else TOPICS)]
    outcome: dict[str, Literal["created", "exists"]] = {}
    new_topics = []
    for spec in wanted:
        name = topic_name(settings, spec.entity, major)
        if name in metadata.topics:
            outcome[name] = "exists"
            continue
        new_topics.append(
            NewTopic(
                name,
                num_partitions=spec.partitions,
                replication_factor=min(spec.replication_factor, broker_count),
                config={"retention.ms": str(spec.retention_ms)},
            )
        )
    if not new_topics:
        return outcome
    for name, future in admin.create_topics(new_topics, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
            outcome[name] = "created"
        except KafkaException as exc:
            # Another process may have created it between list_topics and create_topics.
            if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                outcome[name] = "exists"
            else:
                raise ExternalServiceError(
                    "EXT_5005", f"could not create topic {name}: {exc}", details={"topic": name}
                ) from exc
    return outcome
