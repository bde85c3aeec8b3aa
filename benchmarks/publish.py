"""Publisher throughput, side by side in one run (reports; asserts nothing).

* ``publish_many`` (validate + envelope + produce + one flush) against raw confluent-kafka
  producing the very same bytes and headers with the same producer config (goal >= 0.7x), as the
  median ratio of paired rounds (each pair runs both, in alternating order);
* against a publisher that flushes after every event, as the original sketch did (goal >= 50x).

Broker: ``--bootstrap``; without it the script starts its own Apache Kafka (a lite devstack) on
free ports and stops it afterwards. Usage:
``python benchmarks/publish.py [--events 20000] [--flush-events 300] [--bootstrap HOST:PORT]``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from confluent_kafka import Producer
from results import record

from aegis_orchestration.devstack import DevStack, Ports
from aegis_shared.config import Settings
from aegis_shared.events import BundledSchemas, ensure_topics
from aegis_shared.messaging import EventPublisher, OutgoingEvent


def _events(n: int) -> list[OutgoingEvent]:
    return [
        OutgoingEvent(
            "PolicyValidated",
            {
                "policy_id": f"bizinfo:{i}",
                "source": "bizinfo",
                "source_id": str(i),
                "content_hash": hashlib.sha256(str(i).encode()).hexdigest(),
                "status": "pending_validation",
                "version": 1,
                "title": f"2025년 창업지원 공고 {i}",
            },
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
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--bootstrap", help="an existing broker; default: start a lite devstack")
    args = parser.parse_args()
    if args.bootstrap:
        measure(args, args.bootstrap)
        return
    root = Path(tempfile.mkdtemp(prefix="aegis-bench-publish-"))
    stack = DevStack(root, Ports.free(), lite=True).up()
    try:
        measure(args, stack.settings().kafka_bootstrap)
        # Producers held in reference cycles would otherwise log reconnect failures as the
        # broker stops under them.
        gc.collect()
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)


def measure(args: argparse.Namespace, bootstrap: str) -> None:
    settings = Settings(env=f"bench{uuid.uuid4().hex[:8]}", kafka_bootstrap=bootstrap)
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
        prepared.append(
            (
                env.to_bytes(),
                e.key,
                [
                    ("event-type", env.event_type.encode()),
                    ("event-version", env.event_version.encode()),
                    ("correlation-id", env.correlation_id.encode()),
                    ("event-id", str(env.event_id).encode()),
                ],
            )
        )
    # The publisher's own producer settings (reliability, batching, failure-only reports).
    raw = Producer(publisher.producer_config)
    raw.produce(topic, b"warm-up")
    raw.flush(30)

    def raw_round() -> float:
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
        return len(prepared) / (time.perf_counter() - start)

    def ours_round() -> float:
        start = time.perf_counter()
        publisher.publish_many(events)
        return len(events) / (time.perf_counter() - start)

    # Rounds are paired, and the order inside a pair alternates, so a slow spell of the shared
    # cores lands on both sides of a pair; the ratio reported is the median of the pairs'.
    ours_rates, raw_rates, ratios = [], [], []
    for round_ in range(args.rounds):
        if round_ % 2:
            ours, raw_rate = ours_round(), raw_round()
        else:
            raw_rate, ours = raw_round(), ours_round()
        ours_rates.append(ours)
        raw_rates.append(raw_rate)
        ratios.append(ours / raw_rate)

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

    print(f"broker {bootstrap}, topic {topic}, {args.events} events x {args.rounds} paired rounds")
    print(f"{'publisher':<34}{'events/s (median)':>18}")
    print(f"{'raw confluent-kafka, same bytes':<34}{statistics.median(raw_rates):>18,.0f}")
    print(f"{'EventPublisher.publish_many':<34}{statistics.median(ours_rates):>18,.0f}")
    print(f"{'flush after every event':<34}{naive_rate:>18,.0f}")
    print(
        f"publish_many / raw        = {statistics.median(ratios):.2f}x median of paired rounds "
        f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x; goal >= 0.7x)"
    )
    print(f"publish_many / flush-each = {statistics.median(ours_rates) / naive_rate:.1f}x  (goal >= 50x)")
    pairs = zip(ours_rates, raw_rates, strict=True)
    print("pairs (ours/raw events/s):", ", ".join(f"{o:,.0f}/{r:,.0f}" for o, r in pairs))
    record(
        "publish_many vs raw confluent-kafka",
        statistics.median(ours_rates),
        "events/s",
        raw=statistics.median(raw_rates),
        paired_ratio=statistics.median(ratios),
        min_ratio=0.7,
    )
    record(
        "publish_many vs flush after every event",
        statistics.median(ours_rates),
        "events/s",
        raw=naive_rate,
        min_ratio=50,
    )


if __name__ == "__main__":
    main()
