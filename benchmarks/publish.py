"""Publisher throughput, side by side in one run (reports; asserts nothing).

* ``publish_many`` (validate + envelope + produce + one flush) against raw confluent-kafka
  producing the very same bytes and headers with the same producer config (goal >= 0.7x);
* against a publisher that flushes after every event, as seed 003's sketch does (goal >= 50x).

Broker: ``AEGIS_KAFKA_BOOTSTRAP`` (default from Settings). Usage:
``python benchmarks/publish.py [--events 20000] [--flush-events 300]``.
"""

from __future__ import annotations

import argparse
import hashlib
import time
import uuid

from confluent_kafka import Producer

from aegis_shared.config import Settings
from aegis_shared.events import BundledSchemas, ensure_topics
from aegis_shared.messaging import EventPublisher, OutgoingEvent


def _events(n: int) -> list[OutgoingEvent]:
    return [
        OutgoingEvent(
            "PolicyValidated",
            {"policy_id": f"bizinfo:{i}", "source": "bizinfo", "source_id": str(i),
             "content_hash": hashlib.sha256(str(i).encode()).hexdigest(),
             "status": "pending_validation", "version": 1, "title": f"2025년 창업지원 공고 {i}"},
            key=f"bizinfo:{i}",
        )
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--flush-events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    base = Settings()
    settings = Settings(env=f"bench{uuid.uuid4().hex[:8]}", kafka_bootstrap=base.kafka_bootstrap)
    bootstrap = settings.kafka_bootstrap
    ensure_topics(bootstrap, settings, entities=["policy"])
    topic = settings.topic("policy")
    registry = BundledSchemas()
    events = _events(args.events)

    publisher = EventPublisher(bootstrap, registry, settings=settings, source="bench")
    publisher.publish_many(events[:500])  # warm up: connections, metadata, compiled validator

    # The exact bytes and headers publish_many sends, prepared outside the timed region.
    prepared = []
    for e in events:
        env = publisher.build(e.event_type, e.data)
        prepared.append((env.to_bytes(), e.key, [
            ("event-type", env.event_type.encode()), ("event-version", env.event_version.encode()),
            ("correlation-id", env.correlation_id.encode()), ("event-id", str(env.event_id).encode()),
        ]))
    # The publisher's own producer settings (reliability, batching, failure-only reports).
    raw = Producer(publisher.producer_config)
    raw.produce(topic, b"warm-up")
    raw.flush(30)

    ours_rates, raw_rates = [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for value, key, headers in prepared:
            while True:
                try:
                    raw.produce(topic, value=value, key=key, headers=headers)
                    break
                except BufferError:
                    raw.poll(0.05)
            raw.poll(0)
        raw.flush(120)
        raw_rates.append(len(prepared) / (time.perf_counter() - start))

        start = time.perf_counter()
        publisher.publish_many(events)
        ours_rates.append(len(events) / (time.perf_counter() - start))

    # Seed 003's sketch: build, produce, flush, for every single event.
    naive = Producer(publisher.producer_config)
    flush_events = events[: args.flush_events]
    start = time.perf_counter()
    for e in flush_events:
        env = publisher.build(e.event_type, e.data)
        naive.produce(topic, value=env.to_bytes(), key=e.key)
        naive.flush(30)
    naive_rate = len(flush_events) / (time.perf_counter() - start)
    publisher.close()

    ours, raw_best = max(ours_rates), max(raw_rates)
    print(f"broker {bootstrap}, topic {topic}, {args.events} events x {args.rounds} rounds (best round)")
    print(f"{'publisher':<34}{'events/s':>12}")
    print(f"{'raw confluent-kafka, same bytes':<34}{raw_best:>12,.0f}")
    print(f"{'EventPublisher.publish_many':<34}{ours:>12,.0f}")
    print(f"{'flush after every event':<34}{naive_rate:>12,.0f}")
    print(f"publish_many / raw        = {ours / raw_best:.2f}x  (goal >= 0.7x)")
    print(f"publish_many / flush-each = {ours / naive_rate:.1f}x  (goal >= 50x)")
    print("rounds (ours):", ", ".join(f"{r:,.0f}" for r in ours_rates),
          "| rounds (raw):", ", ".join(f"{r:,.0f}" for r in raw_rates))


if __name__ == "__main__":
    main()
