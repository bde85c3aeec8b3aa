"""Consumer throughput, side by side in one run (reports; asserts nothing).

``EventConsumer`` (decode + schema validation + envelope + handler + stored offsets, batched
asynchronous commits, metrics) against raw confluent-kafka consuming the very same messages:
a batched ``consume`` loop that parses each value as JSON and commits asynchronously every 1,000
messages, the least any consumer of these events does. A third line adds the envelope and schema
validation EventConsumer performs to the raw loop, to show where the time goes. Each round uses
a new consumer group, so both read the whole topic from the start; the time runs from the first
message to the last, so group joins do not count. Rounds are paired, the order alternating; the
ratio is the median of the pairs' (goal >= 0.7x).

Starts its own Apache Kafka (a lite devstack) on free ports and stops it afterwards.

    .venv/bin/python benchmarks/consume.py [--events 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson
from confluent_kafka import Consumer
from results import record

from aegis_orchestration.devstack import DevStack, Ports
from aegis_shared.events import BundledSchemas, Envelope, ensure_topics
from aegis_shared.messaging import (
    EventConsumer,
    EventPublisher,
    OutgoingEvent,
    decode_message,
    validators_for,
)

GROUP_CONFIG = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000}


def _events(n: int) -> list[OutgoingEvent]:
    return [
        OutgoingEvent(
            "PolicyDeleted", {"policyId": f"bizinfo:PBLN_{i:07d}", "reason": "expired"}, key=f"k{i}"
        )
        for i in range(n)
    ]


def raw_round(bootstrap: str, topic: str, n: int, decode: Callable[[bytes], object] = orjson.loads) -> float:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **GROUP_CONFIG,
        }
    )
    consumer.subscribe([topic])
    seen, first = 0, 0.0
    try:
        while seen < n:
            for msg in consumer.consume(500, 1.0):
                if msg.error() is not None:
                    continue
                if seen == 0:
                    first = time.perf_counter()
                decode(msg.value())
                seen += 1
                if seen % 1000 == 0:
                    consumer.commit(asynchronous=True)
        elapsed = time.perf_counter() - first
    finally:
        consumer.close()
    return n / elapsed


def ours_round(bootstrap: str, topic: str, dlq: str, registry: BundledSchemas, n: int) -> float:
    seen, first = 0, 0.0
    last = 0.0

    def handle(_envelope: Envelope) -> None:
        nonlocal seen, first, last
        if seen == 0:
            first = time.perf_counter()
        seen += 1
        last = time.perf_counter()

    with EventConsumer(
        bootstrap,
        f"ours-{uuid.uuid4().hex}",
        [topic],
        handle,
        registry=registry,
        dlq_topic=dlq,
        config=GROUP_CONFIG,
    ) as consumer:
        consumer.run(max_messages=n, timeout=600)
    return n / (last - first)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aegis-bench-consume-"))
    stack = DevStack(root, Ports.free(), lite=True).up()
    try:
        settings = stack.settings().model_copy(update={"env": f"bench{uuid.uuid4().hex[:6]}"})
        bootstrap = settings.kafka_bootstrap
        ensure_topics(bootstrap, settings, entities=["policy", "dlq"])
        topic, dlq = settings.topic("policy"), settings.topic("dlq")
        registry = BundledSchemas()
        with EventPublisher(bootstrap, registry, settings=settings, source="bench") as publisher:
            publisher.publish_many(_events(args.events))
        ours_round(bootstrap, topic, dlq, registry, min(args.events, 2000))  # warm up
        raw_round(bootstrap, topic, min(args.events, 2000))

        # The same raw loop plus the validation every EventConsumer message gets (envelope and
        # data schema): what is left between this and EventConsumer is the consumer's own cost.
        validators = validators_for(registry)
        validated = [
            raw_round(bootstrap, topic, args.events, lambda value: decode_message(value, validators))
            for _ in range(3)
        ]
        ours_rates, raw_rates, ratios = [], [], []
        for round_ in range(args.rounds):
            if round_ % 2:
                ours = ours_round(bootstrap, topic, dlq, registry, args.events)
                raw = raw_round(bootstrap, topic, args.events)
            else:
                raw = raw_round(bootstrap, topic, args.events)
                ours = ours_round(bootstrap, topic, dlq, registry, args.events)
            ours_rates.append(ours)
            raw_rates.append(raw)
            ratios.append(ours / raw)

        print(f"broker {bootstrap}, topic {topic}, {args.events} events x {args.rounds} paired rounds")
        print(f"{'consumer':<44}{'events/s (median)':>18}")
        print(f"{'raw confluent-kafka (consume(500), JSON parse)':<44}{statistics.median(raw_rates):>18,.0f}")
        print(f"{'raw + the same envelope/schema validation':<44}{statistics.median(validated):>18,.0f}")
        print(f"{'EventConsumer (validated, batched commits)':<44}{statistics.median(ours_rates):>18,.0f}")
        print(
            f"EventConsumer / raw = {statistics.median(ratios):.2f}x median of paired rounds "
            f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x; goal >= 0.7x)"
        )
        own = statistics.median(ours_rates) / statistics.median(validated)
        print(f"EventConsumer / (raw + validation) = {own:.2f}x")
        record(
            "EventConsumer vs raw confluent-kafka",
            statistics.median(ours_rates),
            "events/s",
            raw=statistics.median(raw_rates),
            paired_ratio=statistics.median(ratios),
            min_ratio=0.7,
        )
        record(
            "EventConsumer vs raw + the same validation",
            statistics.median(ours_rates),
            "events/s",
            raw=statistics.median(validated),
        )
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
