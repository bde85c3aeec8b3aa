"""Batched offset commits on the real broker: asynchronous while running, synchronous on revoke
and close, and nothing lost when a consumer is closed, rebalanced away or killed mid-stream."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from prometheus_client import REGISTRY

from aegis_shared.config import Settings
from aegis_shared.errors import AegisError
from aegis_shared.events import BundledSchemas, Envelope
from aegis_shared.messaging import EventPublisher
from tests.aegis_shared.messaging.test_consumer import _committed_total, _consumer, _publish, registry, topics

__all__ = ["registry", "topics"]  # fixtures shared with test_consumer

REPO = Path(__file__).resolve().parents[3]
DRIVER = Path(__file__).with_name("consume_kill_driver.py")


def test_close_mid_stream_commits_what_was_handled_and_a_restart_loses_nothing(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    sent = _publish(kafka_bootstrap, registry, topics, 300)
    first: list[str] = []
    group = f"g-close-{uuid.uuid4().hex[:6]}"
    # Neither threshold is reached: only the synchronous commit at the end covers these.
    consumer = _consumer(
        kafka_bootstrap,
        registry,
        topics,
        lambda e: first.append(str(e.event_id)),
        group,
        commit_every=10_000,
        commit_interval=3600,
    )
    consumer.run(max_messages=120, timeout=60)
    consumer.close()
    assert len(first) == 120
    assert _committed_total(kafka_bootstrap, group, topics.topic("policy")) == 120

    second: list[str] = []
    with _consumer(kafka_bootstrap, registry, topics, lambda e: second.append(str(e.event_id)), group) as c:
        c.run(idle_timeout=4, timeout=60)
    assert not set(first) & set(second)  # the restart starts exactly after the close
    assert sorted(first + second) == sorted(sent)


def test_a_killed_consumer_loses_nothing_and_resumes_from_its_last_batch_commit(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings, tmp_path: Path
) -> None:
    sent = _publish(kafka_bootstrap, registry, topics, 300)
    group = f"g-kill-{uuid.uuid4().hex[:6]}"
    out = tmp_path / "handled.txt"
    driver = subprocess.run(
        [
            sys.executable,
            str(DRIVER),
            kafka_bootstrap,
            topics.topic("policy"),
            topics.topic("dlq"),
            group,
            str(out),
            "130",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert driver.returncode == -9, driver.stderr[-2000:]
    first = out.read_text().split()
    assert len(first) == 130

    second: list[str] = []
    done = threading.Event()
    missing = set(sent) - set(first)

    def handle(envelope: Envelope) -> None:
        second.append(str(envelope.event_id))
        missing.discard(str(envelope.event_id))
        if not missing:
            done.set()

    # No idle limit: joining the group waits out the killed member's session first.
    with _consumer(kafka_bootstrap, registry, topics, handle, group) as c:
        c.run(done, timeout=120)
    assert set(first) | set(second) == set(sent)  # at-least-once: nothing lost
    assert len(second) < len(sent)  # batches committed while running: the restart did not start over
    # Only what was handled after the last batch commit came again, and at most once more.
    again = set(first) & set(second)
    assert len(again) <= 130 and max(Counter(first + second).values()) <= 2


def test_a_rebalance_commits_before_giving_partitions_away(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    sent = _publish(kafka_bootstrap, registry, topics, 400)
    group = f"g-revoke-{uuid.uuid4().hex[:6]}"
    handled: list[tuple[str, str]] = []
    lock = threading.Lock()
    first_started = threading.Event()
    done = threading.Event()
    missing = set(sent)

    def handler(name: str):
        def handle(envelope: Envelope) -> None:
            with lock:
                handled.append((name, str(envelope.event_id)))
                missing.discard(str(envelope.event_id))
                if not missing:
                    done.set()
            first_started.set()
            time.sleep(0.02)  # slow enough that the second member joins mid-stream

        return handle

    # No asynchronous commit can happen: only the revoke (and the end of run) commit.
    consumers = {
        name: _consumer(
            kafka_bootstrap,
            registry,
            topics,
            handler(name),
            group,
            commit_every=10_000,
            commit_interval=3600,
        )
        for name in ("first", "second")
    }
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            # Until every message was handled by someone (a rebalance under load can be slow).
            consumers[name].run(done, timeout=120)
        except BaseException as exc:
            errors.append(exc)

    threads = {name: threading.Thread(target=run, args=(name,)) for name in consumers}
    threads["first"].start()
    assert first_started.wait(60)
    time.sleep(0.5)
    threads["second"].start()
    for thread in threads.values():
        thread.join(180)
    for consumer in consumers.values():
        consumer.close()
    assert not errors, errors
    by_member = Counter(name for name, _ in handled)
    assert by_member["first"] and by_member["second"], by_member  # the partitions really moved
    ids = [event_id for _, event_id in handled]
    assert set(ids) == set(sent)  # nothing lost
    # Nothing repeated: the revoke committed what was handled before the partitions moved.
    assert sorted(ids) == sorted(sent)


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_publisher_and_consumer_report_the_event_metrics(
    kafka_bootstrap: str, registry: BundledSchemas, topics: Settings
) -> None:
    source = f"metrics-{uuid.uuid4().hex[:6]}"
    group = f"g-metrics-{uuid.uuid4().hex[:6]}"
    refused_before = _sample(
        "aegis_event_processing_errors_total", event_type="PolicyDeleted", error_type="VALID_3005"
    )
    with EventPublisher(kafka_bootstrap, registry, settings=topics, source=source) as publisher:
        for i in range(20):
            publisher.publish("PolicyDeleted", {"policyId": f"bizinfo:{i}", "reason": "expired"}, key=f"k{i}")
        try:
            publisher.publish("PolicyDeleted", {"policyId": "bizinfo:x"}, key="x")  # no reason
        except AegisError as exc:
            assert exc.code == "VALID_3005"
    assert _sample("aegis_events_published_total", event_type="PolicyDeleted", source=source) == 20
    refused = _sample(
        "aegis_event_processing_errors_total", event_type="PolicyDeleted", error_type="VALID_3005"
    )
    assert refused == refused_before + 1

    failed_once: set[str] = set()

    def flaky(envelope: Envelope) -> None:
        if not failed_once:
            failed_once.add(str(envelope.event_id))
            raise RuntimeError("store busy")

    failures_before = _sample(
        "aegis_event_processing_errors_total", event_type="PolicyDeleted", error_type="RuntimeError"
    )
    with _consumer(kafka_bootstrap, registry, topics, flaky, group, backoff=0.01) as consumer:
        stats = consumer.run(idle_timeout=4, timeout=60)
    assert stats.handled == 20
    assert _sample("aegis_events_consumed_total", event_type="PolicyDeleted", consumer=group) == 20
    assert _sample("aegis_event_processing_seconds_count", event_type="PolicyDeleted") >= 20
    assert (
        _sample("aegis_event_processing_errors_total", event_type="PolicyDeleted", error_type="RuntimeError")
        == failures_before + 1
    )
    lags = [
        sample
        for metric in REGISTRY.collect()
        if metric.name == "aegis_event_consumer_lag"
        for sample in metric.samples
        if sample.labels["consumer_group"] == group
    ]
    assert lags and all(sample.value == 0 for sample in lags)  # everything consumed
    assert {sample.labels["topic"] for sample in lags} == {topics.topic("policy")}
