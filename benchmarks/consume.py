"""Consumer throughput, side by side in one run (reports; asserts nothing).

``EventConsumer`` (decode + schema validation + envelope + handler + stored offsets, batched
asynchronous commits, metrics) against raw confluent-kafka consuming the very same messages and
doing the same work: a batched ``consume(500)`` loop that decodes and validates each value with
the same envelope and data schemas (``decode_message``) and commits asynchronously every 1,000
messages. That pair's ratio is the goal (>= 0.7x): it is what a team pays for our consumer over
writing the loop itself. A third loop only parses JSON, to show what validation itself costs.

Each round uses new consumer groups, so every loop reads the whole topic from the start; the time
runs from the first message to the last, so group joins do not count. The loops' order rotates
from round to round; ratios are the median of the rounds'.

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

        validators = validators_for(registry)
        loops: dict[str, Callable[[], float]] = {
            "raw": lambda: raw_round(
                bootstrap, topic, args.events, lambda value: decode_message(value, validators)
            ),
            "ours": lambda: ours_round(bootstrap, topic, dlq, registry, args.events),
            "parse": lambda: raw_round(bootstrap, topic, args.events),
        }
        rates: dict[str, list[float]] = {name: [] for name in loops}
        names = list(loops)
        for round_ in range(args.rounds):
            for name in names[round_ % 3 :] + names[: round_ % 3]:
                rates[name].append(loops[name]())
        ratio = [o / r for o, r in zip(rates["ours"], rates["raw"], strict=True)]
        bare = [o / p for o, p in zip(rates["ours"], rates["parse"], strict=True)]

        print(f"broker {bootstrap}, topic {topic}, {args.events} events x {args.rounds} rounds")
        print(f"{'consumer':<52}{'events/s (median)':>18}")
        for name, label in (
            ("raw", "raw confluent-kafka + the same decode/validation"),
            ("ours", "EventConsumer (validated, batched commits)"),
            ("parse", "raw confluent-kafka, JSON parse only"),
        ):
            print(f"{label:<52}{statistics.median(rates[name]):>18,.0f}")
        print(
            f"EventConsumer / raw doing the same work = {statistics.median(ratio):.2f}x "
            f"(min {min(ratio):.2f}x, max {max(ratio):.2f}x; goal >= 0.7x)"
        )
        print(f"EventConsumer / JSON parse only = {statistics.median(bare):.2f}x (the price of validation)")
        record(
            "EventConsumer vs raw doing the same validation",
            statistics.median(rates["ours"]),
            "events/s",
            raw=statistics.median(rates["raw"]),
            paired_ratio=statistics.median(ratio),
            min_ratio=0.7,
        )
        record(
            "EventConsumer vs raw JSON parse only",
            statistics.median(rates["ours"]),
            "events/s",
            raw=statistics.median(rates["parse"]),
            paired_ratio=statistics.median(bare),
        )
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
