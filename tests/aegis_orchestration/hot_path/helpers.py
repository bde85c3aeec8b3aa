"""Helpers for hot-path tests on the real broker and PostgreSQL: data, producing, reading back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import sqlalchemy as sa
from confluent_kafka import Message, Producer
from pydantic import SecretStr

from aegis_orchestration.hot_path.assets import staged_policies
from aegis_orchestration.hot_path.job import hot_path_job
from aegis_orchestration.pipeline.collection import collected_events
from aegis_orchestration.resources import KafkaResource, MetricsResource, PostgresResource
from aegis_shared.config import Settings
from aegis_shared.events import BundledSchemas, ensure_topics
from aegis_shared.messaging import EventPublisher
from aegis_shared.models import Announcement
from tests.aegis_shared.messaging.kafka_helpers import read_all
from tests.conftest import TEMPLATE_DB


def announcement(i: int, *, title: str | None = None, **fields: object) -> Announcement:
    values: dict[str, object] = {
        "source": "bizinfo",
        "source_id": f"PBLN_{i:06d}",
        "title": title or f"2026년 창업도약패키지 지원사업 공고 {i}",
        "organization": "중소벤처기업부",
        "category": "창업",
        "summary": "예비창업자 및 3년 이내 창업기업을 지원합니다.",
        "url": f"https://www.bizinfo.go.kr/pblanc/{i}",
        "period_start": date(2026, 3, 1),
        "period_end": date(2026, 12, 31),
        "region_codes": ["11"],
    }
    return Announcement.model_validate(values | fields)


def publish_collected(
    settings: Settings, items: Sequence[Announcement], *, partition: int | None = None
) -> None:
    """Publish ``PolicyCollected`` exactly as the collection asset does (optionally to one partition)."""
    events = collected_events(items)
    if partition is not None:
        # Same events, one partition: a single range holds them all, in this order.
        with EventPublisher(settings.kafka_bootstrap, BundledSchemas(), settings=settings) as publisher:
            envelopes = [publisher.build(e.event_type, e.data) for e in events]
        produce_raw(
            settings,
            [(e.to_bytes(), ev.key) for e, ev in zip(envelopes, events, strict=True)],
            partition=partition,
        )
        return
    with EventPublisher(settings.kafka_bootstrap, BundledSchemas(), settings=settings) as publisher:
        publisher.publish_many(events)


def produce_raw(
    settings: Settings, items: Iterable[tuple[bytes, str | bytes | None]], *, partition: int | None = None
) -> None:
    """Produce arbitrary bytes (malformed messages) to the collection topic."""
    producer = Producer(
        {"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True, "linger.ms": 5}
    )
    topic = settings.topic("collection")
    for value, key in items:
        if partition is None:
            producer.produce(topic, value=value, key=key)
        else:
            producer.produce(topic, value=value, key=key, partition=partition)
    assert producer.flush(30) == 0


def bad_messages(settings: Settings) -> list[tuple[bytes, str, str]]:
    """(bytes, key, expected code) for every kind of bad input the hot path must refuse."""
    with EventPublisher(settings.kafka_bootstrap, BundledSchemas(), settings=settings) as publisher:
        good = collected_events([announcement(900_001)])[0]
        envelope = publisher.build(good.event_type, good.data)
        wrong_type = publisher.build("PolicyDeleted", {"policyId": "bizinfo:x", "reason": "expired"})
        blank = collected_events([announcement(900_002, title="   ")])[0]
        blank_env = publisher.build(blank.event_type, blank.data)
        huge = collected_events([announcement(900_003, raw={"blob": "가" * 100_000})])[0]
        huge_env = publisher.build(huge.event_type, huge.data)
    wire = envelope.to_wire()
    schema_invalid = dict(wire, data=dict(wire["data"], content_hash="not-a-sha256"))
    return [
        (envelope.to_bytes()[:40], "bizinfo:bad-json", "VALID_3009"),
        (b"\xff\xfe\x00 not utf-8", "bizinfo:bad-utf8", "VALID_3009"),
        (json.dumps(schema_invalid).encode(), "bizinfo:schema", "VALID_3005"),
        (wrong_type.to_bytes(), "bizinfo:x", "VALID_3001"),
        (blank_env.to_bytes(), "bizinfo:PBLN_900002", "DP_2005"),
        (huge_env.to_bytes(), "bizinfo:PBLN_900003", "DP_2008"),
    ]


def unique_env() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def with_env(settings: Settings, env: str, postgres_url: str | None = None) -> Settings:
    update: dict[str, object] = {"env": env}
    if postgres_url is not None:
        update["postgres_url"] = SecretStr(postgres_url)
    return settings.model_copy(update=update)


@dataclass(frozen=True)
class Database:
    """A fresh database on the session's PostgreSQL server, with every registry table."""

    url: str
    engine: sa.Engine


def create_database(admin: sa.Engine, base_url: str) -> Database:
    """A copy of the session's migrated template (the ``migrated_template`` fixture must be active)."""
    name = f"hp_{uuid.uuid4().hex[:12]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"'))
    url = sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    return Database(url, sa.create_engine(url))


def drop_database(admin: sa.Engine, db: Database) -> None:
    db.engine.dispose()
    name = sa.make_url(db.url).database
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def resources(settings: Settings, db: Database) -> dict[str, object]:
    return {
        "postgres": PostgresResource(url=db.url),
        "kafka": KafkaResource(bootstrap=settings.kafka_bootstrap, env=settings.env),
        "metrics": MetricsResource(),
    }


def run_job(
    settings: Settings,
    db: Database,
    run_config: dict,
    instance: dg.DagsterInstance | None = None,
    **kwargs: object,
) -> dg.ExecuteInProcessResult:
    defs = dg.Definitions(assets=[staged_policies], jobs=[hot_path_job], resources=resources(settings, db))
    return defs.resolve_job_def("hot_path_job").execute_in_process(
        run_config=run_config,
        instance=instance,
        **kwargs,  # type: ignore[arg-type]
    )


def range_config(topic: str, partition: int, start: int, end: int) -> dict:
    return {
        "ops": {
            "staged_policies": {
                "config": {"topic": topic, "partition": partition, "start_offset": start, "end_offset": end}
            }
        }
    }


def policy_rows(engine: sa.Engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, content_hash, version, status, title, quality_score FROM policies ORDER BY id"
            )
        ).all()
    return {row.id: tuple(row[1:]) for row in rows}


def outbox_rows(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT dedupe_key, kind, topic, error_code, source_partition, source_offset, "
                    "published_at IS NOT NULL FROM event_outbox ORDER BY id"
                )
            ).all()
        ]


def headers_of(message: Message) -> dict[str, str]:
    return {name: (value or b"").decode("utf-8", "replace") for name, value in message.headers() or ()}


def read_events(settings: Settings, expected: int, timeout: float = 30.0) -> list[dict]:
    """``PolicyValidated`` envelopes on the env's policy topic."""
    return [
        json.loads(m.value())
        for m in read_all(settings.kafka_bootstrap, settings.topic("policy"), expected, timeout)
    ]


def read_dlq(settings: Settings, expected: int, timeout: float = 30.0) -> list[Message]:
    return read_all(settings.kafka_bootstrap, settings.topic("dlq"), expected, timeout)


def ensure_collection_topic(settings: Settings) -> None:
    ensure_topics(settings.kafka_bootstrap, settings, entities=["collection", "policy", "dlq"])


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
