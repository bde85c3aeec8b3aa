"""``aegis hot-path serve``: the hot path as a long-lived consumer-group service, for sub-second latency.

It runs the same :class:`HotPathProcessor` as the Dagster job. Per batch:

1. consume up to ``batch_size`` records (returning as soon as some arrived);
2. stage them and publish the outbox: the batch is now durable in Postgres and Kafka;
3. only then commit the group offsets (synchronously), so a crash re-delivers, never loses;
4. report a runless ``staged_policies`` materialization so Dagster's lineage stays complete.

Re-delivered records are harmless: staging is idempotent and outbox messages are deduplicated.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from aegis_orchestration.hot_path.intake import SourceRecord
from aegis_orchestration.hot_path.processor import BatchResult, HotPathProcessor
from aegis_shared.errors import ExternalServiceError
from aegis_shared.logging import get_logger
from aegis_shared.monitoring.pipeline_metrics import LiveMetrics

_log = get_logger(__name__)

DEFAULT_GROUP_ID = "aegis-hot-path"


class BatchReporter(Protocol):
    """Where each durable batch is reported (Dagster in production, anything in tests)."""

    def __call__(self, records: list[SourceRecord], result: BatchResult) -> None: ...


def dagster_reporter(instance: Any) -> BatchReporter:
    """Report batches to ``instance`` as runless ``staged_policies`` materializations."""
    import dagster as dg

    from aegis_orchestration.hot_path.assets import ASSET_KEY

    def report(records: list[SourceRecord], result: BatchResult) -> None:
        spans: dict[tuple[str, int], list[int]] = {}
        for r in records:
            spans.setdefault((r.topic, r.partition), []).append(r.offset)
        ranges = {f"{t}[{p}]": f"[{min(o)}, {max(o) + 1})" for (t, p), o in sorted(spans.items())}
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=ASSET_KEY,
                description="Batch staged by `aegis hot-path serve`.",
                metadata={"path": "serve", "offset_ranges": ranges, **result.as_metadata()},
            )
        )

    return report


@dataclass(slots=True)
class ServeStats:
    batches: int = 0
    records: int = 0
    written: int = 0
    dead_lettered: int = 0
    report_failures: int = 0
    batch_seconds: list[float] = field(default_factory=list)


class HotPathService:
    """Consumes the collection topic in group ``group_id`` and processes it batch by batch."""

    def __init__(
        self,
        processor: HotPathProcessor,
        *,
        group_id: str = DEFAULT_GROUP_ID,
        batch_size: int = 500,
        poll_timeout: float = 0.2,
        reporter: BatchReporter | None = None,
        config: dict[str, Any] | None = None,
        metrics: LiveMetrics | None = None,
    ) -> None:
        self.processor = processor
        self.topic = processor.settings.topic("collection")
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.reporter = reporter
        self.metrics = metrics
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 20,
                **(config or {}),
                "bootstrap.servers": processor.settings.kafka_bootstrap,
                "group.id": group_id,
                # Offsets are committed by hand, only after the batch is durable.
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
            }
        )
        self._subscribed = False

    def stop(self) -> None:
        """Finish the current batch, then return from :meth:`run` (thread- and signal-safe)."""
        self._stop.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        _log.info("hot-path serve stopping", signal=signal.Signals(signum).name)
        self.stop()

    def run(
        self,
        *,
        max_batches: int | None = None,
        timeout: float | None = None,
        idle_timeout: float | None = None,
        on_batch: Callable[[list[SourceRecord], BatchResult], None] | None = None,
        install_signal_handlers: bool = False,
    ) -> ServeStats:
        """Process batches until stopped, ``max_batches`` done, ``timeout`` elapsed or idle for
        ``idle_timeout`` seconds. A batch in progress always finishes and commits first."""
        if not self._subscribed:
            self._consumer.subscribe(
                [self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke
            )
            self._subscribed = True
        previous: dict[int, Any] = {}
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        stats = ServeStats()
        deadline = None if timeout is None else time.monotonic() + timeout
        last_batch = time.monotonic()
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if max_batches is not None and stats.batches >= max_batches:
                    break
                if deadline is not None and now >= deadline:
                    break
                if idle_timeout is not None and now - last_batch >= idle_timeout:
                    break
                records = self._poll()
                if not records:
                    continue
                last_batch = time.monotonic()
                result = self._handle(records)
                stats.batches += 1
                stats.records += len(records)
                stats.written += len(result.stage.written_policy_ids)
                stats.dead_lettered += result.stage.dead_lettered
                stats.batch_seconds.append(time.monotonic() - last_batch)
                self._record(records, result, stats.batch_seconds[-1])
                _log.info(
                    "hot-path batch staged",
                    records=len(records),
                    written=len(result.stage.written_policy_ids),
                    dead_lettered=result.stage.dead_lettered,
                    partitions=sorted({r.partition for r in records}),
                )
                if not self._report(records, result):
                    stats.report_failures += 1
                if on_batch is not None:
                    on_batch(records, result)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return stats

    def _record(self, records: list[SourceRecord], result: BatchResult, seconds: float) -> None:
        if self.metrics is None:
            return
        refused = result.stage.dead_lettered
        self.metrics.count(
            "aegis_pipeline_processing_total", len(records) - refused, path="hot", status="success"
        )
        self.metrics.count("aegis_pipeline_processing_total", refused, path="hot", status="error")
        self.metrics.observe("aegis_pipeline_processing_latency_seconds", seconds, path="hot")
        stamps = [r.timestamp_ms for r in records if r.timestamp_ms]
        if stamps:
            self.metrics.set(
                "aegis_pipeline_lag_seconds", max(0.0, time.time() - min(stamps) / 1000), path="hot"
            )

    @staticmethod
    def _on_assign(_consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # A rebalance is when a crashed instance's partitions move: operators need to see it.
        _log.info("hot-path partitions assigned", partitions=sorted(p.partition for p in partitions))

    @staticmethod
    def _on_revoke(_consumer: Consumer, partitions: list[TopicPartition]) -> None:
        _log.info("hot-path partitions revoked", partitions=sorted(p.partition for p in partitions))

    def _poll(self) -> list[SourceRecord]:
        try:
            messages = self._consumer.consume(num_messages=self.batch_size, timeout=self.poll_timeout)
        except KafkaException as exc:
            raise ExternalServiceError("EXT_5005", f"hot-path consume failed: {exc}") from exc
        records: list[SourceRecord] = []
        for message in messages:
            error = message.error()
            if error is None:
                records.append(SourceRecord.from_message(message))
            elif error.fatal():
                raise ExternalServiceError("EXT_5005", f"fatal consumer error: {error}")
            elif error.code() != KafkaError._PARTITION_EOF:
                _log.warning("hot-path consumer error", error=str(error))
        return records

    def _handle(self, records: list[SourceRecord]) -> BatchResult:
        # Durable first (rows + outbox committed, outbox published), then the offsets.
        result = self.processor.process(records)
        ends: dict[tuple[str, int], int] = {}
        for r in records:
            ends[(r.topic, r.partition)] = max(ends.get((r.topic, r.partition), -1), r.offset + 1)
        try:
            self._consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in ends.items()], asynchronous=False
            )
        except KafkaException as exc:
            # Uncommitted means re-delivered, and re-delivery is idempotent: report and go on.
            _log.warning("hot-path offset commit failed", error=str(exc))
        return result

    def _report(self, records: list[SourceRecord], result: BatchResult) -> bool:
        if self.reporter is None:
            return True
        try:
            self.reporter(records, result)
            return True
        except Exception as exc:
            # The batch is already durable; a lost lineage event must not stop the data path.
            _log.warning("could not report hot-path batch to Dagster", error=f"{type(exc).__name__}: {exc}")
            return False

    def close(self) -> None:
        """Leave the group."""
        self._consumer.close()

    def __enter__(self) -> HotPathService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
