"""Topic names and idempotent creation against the real local broker."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient

from aegis_shared.config import Settings
from aegis_shared.errors import AegisError
from aegis_shared.events import TOPICS, ensure_topics, topic_name


def test_names_follow_env_aegis_entity_major() -> None:
    # Production refuses the local stack's defaults, so it is given its servers.
    settings = Settings(
        env="prod", postgres_url="postgresql://db/aegis", kafka_bootstrap="b1:9092", redis_url="redis://r"
    )
    assert topic_name(settings, "policy") == "prod.aegis.policy.v1"
    assert topic_name(settings, "collection", 2) == "prod.aegis.collection.v2"
    with pytest.raises(AegisError) as caught:
        topic_name(settings, "nonsense")
    assert caught.value.code == "SYS_7003"


def test_partitions_and_retention_follow_the_seed_table() -> None:
    expected = {
        "policy": (6, 30),
        "user": (3, 7),
        "recommendation": (6, 7),
        "system": (3, 3),
        "security": (3, 90),
    }
    for entity, (partitions, days) in expected.items():
        spec = TOPICS[entity]
        assert (spec.partitions, spec.retention_days, spec.replication_factor) == (partitions, days, 3)
        assert spec.retention_ms == days * 86_400_000
    assert {"collection", "dlq"} <= set(TOPICS)


def test_ensure_topics_creates_then_reports_existing(kafka_bootstrap: str) -> None:
    settings = Settings(env=f"t{uuid.uuid4().hex[:10]}")
    first = ensure_topics(kafka_bootstrap, settings)
    assert set(first.values()) == {"created"} and len(first) == len(TOPICS)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    second = ensure_topics(admin, settings)
    assert set(second.values()) == {"exists"} and set(second) == set(first)
    metadata = admin.list_topics(timeout=10)
    for entity, spec in TOPICS.items():
        # The single local broker caps replication at 1; partitions come from the table.
        assert len(metadata.topics[settings.topic(entity)].partitions) == spec.partitions


def test_ensure_topics_only_the_requested_entities(kafka_bootstrap: str) -> None:
    settings = Settings(env=f"t{uuid.uuid4().hex[:10]}")
    assert ensure_topics(kafka_bootstrap, settings, entities=["dlq"], major=2) == {
        settings.topic("dlq", 2): "created"
    }


def test_unreachable_broker_is_a_coded_error() -> None:
    with pytest.raises(AegisError) as caught:
        ensure_topics("127.0.0.1:1", Settings(env="x"), timeout=1.0)
    assert caught.value.code == "EXT_5005"
