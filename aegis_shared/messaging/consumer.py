"""The event consumer: at-least-once handling with bounded retries and a dead-letter queue.

For each message, in partition order:

1. decode and validate it (:func:`decode_message`); a message that cannot be read goes straight
   to the DLQ with its code: retrying cannot fix bytes;
2. call the handler, retrying with exponential backoff up to ``max_retries`` times;
3. if it still fails, send it to the DLQ with the error;
4. store the offset only now, after success or after the DLQ write was acknowledged.

Messages are fetched in batches (``consume(batch_size)``): a call to the client per message costs
more than handling it. Rebalance callbacks only run inside that call, so a batch is handled
under one assignment; when a run stops in the middle of a batch, each partition is rewound
(``seek``) to its first message not handled, so that message is read again by this consumer's
next run, or after a rebalance by the next owner, and never skipped.

Stored offsets are committed in batches: asynchronously every ``commit_every`` messages or
``commit_interval`` seconds, and synchronously when partitions are revoked (a rebalance), when
:meth:`EventConsumer.run` returns and on :meth:`EventConsumer.close`. A commit per message would
cost a broker round trip per message. A crash (no revoke, no close) redelivers at most what was
handled since the last commit (at-least-once); an offset is never stored, so never committed,
for a message that was not handled or parked in the DLQ (nothing is silently dropped).

Every handled, failed or unreadable message counts in the event metrics (docs/events.md §6,
:mod:`aegis_shared.messaging.metrics`); handled events and handler times are added once per batch.
DLQ records keep the ORIGINAL bytes and key, the original headers, and add ``error-code``,
``error-reason``, ``original-topic``, ``original-partition``, ``original-offset`` and
``retry-count``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from aegis_shared._extras import require_extra

require_extra("kafka", "aegis_shared.messaging.consumer")

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from aegis_shared.errors import AegisError, ExternalServiceError
from aegis_shared.events.envelope import Envelope
from aegis_shared.logging import get_logger
from aegis_shared.logging.redaction import mask_text
from aegis_shared.messaging import metrics
from aegis_shared.messaging.decoding import decode_message, validators_for
from aegis_shared.messaging.validation import SchemaSource, SchemaValidators

Handler = Callable[[Envelope], None]

HANDLER_FAILED_CODE = "DP_4004"
MAX_REASON_LENGTH = 1000

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``initial * multiplier**attempt``, capped at ``maximum`` seconds."""

    initial: float = 0.2
    multiplier: float = 2.0
    maximum: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.maximum, self.initial * self.multiplier**attempt)


@dataclass(slots=True)
class ConsumerStats:
    """What one :meth:`EventConsumer.run` did."""

    handled: int = 0
    dead_lettered: int = 0
    retries: int = 0
    dlq_codes: dict[str, int] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return self.handled + self.dead_lettered


class EventConsumer:
    """Consumes catalogued events from ``topics`` in consumer group ``group_id``."""

    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        topics: Iterable[str],
        handler: Handler,
        *,
        registry: SchemaSource | SchemaValidators,
        dlq_topic: str,
        max_retries: int = 3,
        backoff: Backoff | float = Backoff(),
        config: Mapping[str, Any] | None = None,
        poll_timeout: float = 0.5,
        install_signal_handlers: bool = False,
        commit_every: int = 1000,
        commit_interval: float = 1.0,
        batch_size: int = 100,
    ) -> None:
        """``commit_every`` / ``commit_interval``: an asynchronous commit of the stored offsets
        after that many handled messages or seconds, whichever comes first. ``batch_size``:
        messages fetched per call to the client; a rebalance waits for the batch in hand, so
        ``batch_size`` times the handler's time bounds that wait."""
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if commit_every < 1 or commit_interval <= 0 or batch_size < 1:
            raise ValueError("commit_every and batch_size must be >= 1 and commit_interval > 0")
        self.group_id = group_id
        self.batch_size = batch_size
        self.commit_every = commit_every
        self.commit_interval = commit_interval
        self.topics = list(topics)
        self.handler = handler
        self.validators = validators_for(registry)
        self.dlq_topic = dlq_topic
        self.max_retries = max_retries
        self.backoff = backoff if isinstance(backoff, Backoff) else Backoff(initial=backoff)
        self.poll_timeout = poll_timeout
        self.install_signal_handlers = install_signal_handlers
        self._consumer = Consumer(
            {
                "auto.offset.reset": "earliest",
                **(config or {}),
                "bootstrap.servers": bootstrap,
                "group.id": group_id,
                # Offsets are stored by hand, only after handling or the DLQ write, and committed
                # in batches by this class (see the module docstring).
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "on_commit": self._on_commit,
            }
        )
        self._since_commit = 0  # messages stored since the last commit request
        self._dirty = False  # stored offsets not yet committed synchronously
        self._last_commit = time.monotonic()
        self._last_offsets: dict[tuple[str, int], int] = {}
        self._unstored: dict[tuple[str, int], int] = {}  # handled, offset not yet stored
        self._tally = metrics.HandledTally(group_id)
        self._errors = metrics.LabelCache(metrics.errors)
        self._dlq = Producer(
            {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 0}
        )
        self._stop = threading.Event()
        self._subscribed = False
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current message (thread- and signal-safe)."""
        self._stop.set()

    def close(self) -> None:
        """Leave the group and release the clients."""
        if self._closed:
            return
        self._closed = True
        self._dlq.flush(10)
        self._commit_sync()
        self._consumer.close()

    def __enter__(self) -> EventConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        _log.info("consumer stopping on signal", signal=signal.Signals(signum).name)
        self.stop()

    # -- main loop --------------------------------------------------------------------------

    def run(
        self,
        stop_event: threading.Event | None = None,
        *,
        max_messages: int | None = None,
        timeout: float | None = None,
        idle_timeout: float | None = None,
    ) -> ConsumerStats:
        """Consume until stopped: ``stop_event`` set, :meth:`stop` (or SIGTERM when
        ``install_signal_handlers``), ``max_messages`` processed, ``timeout`` seconds elapsed or
        no message for ``idle_timeout`` seconds. The current message is always finished and
        committed before returning."""
        if not self._subscribed:
            self._consumer.subscribe(self.topics, on_revoke=self._on_revoke)
            self._subscribed = True
        previous: dict[signal.Signals, Any] = {}
        if self.install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        stats = ConsumerStats()
        deadline = None if timeout is None else time.monotonic() + timeout
        last_message = time.monotonic()
        try:
            while not self._should_stop(stop_event):
                if max_messages is not None and stats.processed >= max_messages:
                    break
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if idle_timeout is not None and now - last_message >= idle_timeout:
                    break
                want = self.batch_size
                if max_messages is not None:
                    want = min(want, max_messages - stats.processed)
                messages = self._consumer.consume(want, self.poll_timeout)
                if messages:
                    last_message = time.monotonic()
                for index, msg in enumerate(messages):
                    if self._should_stop(stop_event) or (
                        deadline is not None and time.monotonic() >= deadline
                    ):
                        self._rewind(messages[index:])
                        break
                    error = msg.error()
                    if error is not None:
                        self._on_consumer_error(error)
                        continue
                    if not self._process(msg, stats, stop_event):
                        self._rewind(messages[index:])
                        break
                    if self._since_commit >= self.commit_every:
                        self._maybe_commit()
                self._maybe_commit()  # the interval is checked once per batch
                self._store_handled()
                self._tally.flush()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            # Whatever was handled is committed before returning (a later run or another member
            # of the group starts after it).
            self._tally.flush()
            self._commit_sync()
        return stats

    def _should_stop(self, stop_event: threading.Event | None) -> bool:
        return self._stop.is_set() or (stop_event is not None and stop_event.is_set())

    @staticmethod
    def _on_consumer_error(error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.fatal():
            raise ExternalServiceError("EXT_5005", f"fatal consumer error: {error}")
        _log.warning("consumer error", error=str(error))

    def _process(self, msg: Message, stats: ConsumerStats, stop_event: threading.Event | None) -> bool:
        """Handle or park one message; False when stopped mid-retry (the message is not done)."""
        try:
            envelope = decode_message(msg.value(), self.validators)
        except AegisError as exc:
            self._errors(metrics.UNKNOWN_TYPE, exc.code).inc()
            self._dead_letter(msg, exc.code, exc.message, retry_count=0)
            stats.dead_lettered += 1
            stats.dlq_codes[exc.code] = stats.dlq_codes.get(exc.code, 0) + 1
            self._done(msg)
            return True
        attempt = 0
        started = time.perf_counter()
        while True:
            try:
                self.handler(envelope)
                break
            except Exception as exc:
                code = exc.code if isinstance(exc, AegisError) else HANDLER_FAILED_CODE
                self._errors(
                    envelope.event_type, code if isinstance(exc, AegisError) else type(exc).__name__
                ).inc()
                if attempt >= self.max_retries:
                    reason = f"{type(exc).__name__}: {exc}"
                    self._dead_letter(msg, code, reason, retry_count=attempt)
                    stats.dead_lettered += 1
                    stats.dlq_codes[code] = stats.dlq_codes.get(code, 0) + 1
                    self._tally.add(envelope.event_type, time.perf_counter() - started, handled=False)
                    self._done(msg)
                    return True
                delay = self.backoff.delay(attempt)
                _log.warning(
                    "handler failed; retrying",
                    event_type=envelope.event_type,
                    event_id=str(envelope.event_id),
                    attempt=attempt + 1,
                    delay_s=delay,
                    error=f"{type(exc).__name__}: {exc}",
                )
                attempt += 1
                stats.retries += 1
                if self._wait(delay, stop_event):
                    # Stopping mid-retry: leave the offset unstored so the message is redelivered.
                    return False
        self._tally.add(envelope.event_type, time.perf_counter() - started, handled=True)
        stats.handled += 1
        self._done(msg)
        return True

    def _wait(self, delay: float, stop_event: threading.Event | None) -> bool:
        """Sleep ``delay`` seconds unless asked to stop; True when stopping."""
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            if self._should_stop(stop_event):
                return True
            time.sleep(min(left, 0.05))
        return self._should_stop(stop_event)

    # -- offsets ----------------------------------------------------------------------------

    def _done(self, msg: Message) -> None:
        """The message is handled or parked: its offset may be committed from now on."""
        key = (msg.topic() or "", msg.partition() or 0)
        offset = msg.offset() or 0
        self._last_offsets[key] = offset
        self._unstored[key] = offset + 1
        self._since_commit += 1
        self._dirty = True

    def _store_handled(self) -> None:
        """Store the next offset of each partition's last handled message (one call per batch)."""
        if not self._unstored:
            return
        offsets = [
            TopicPartition(topic, partition, offset) for (topic, partition), offset in self._unstored.items()
        ]
        self._unstored.clear()
        self._consumer.store_offsets(offsets=offsets)

    def _rewind(self, unhandled: list[Message]) -> None:
        """Seek each partition back to its first unhandled message of the batch in hand."""
        first: dict[tuple[str, int], int] = {}
        for msg in unhandled:
            if msg.error() is None:
                first.setdefault((msg.topic() or "", msg.partition() or 0), msg.offset() or 0)
        for (topic, partition), offset in first.items():
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:
                # Not stored, so not committed: a restart or the next owner still reads it.
                _log.warning("could not rewind a partition", topic=topic, partition=partition, error=str(exc))

    def _maybe_commit(self) -> None:
        if self._since_commit == 0:
            return
        if (
            self._since_commit < self.commit_every
            and time.monotonic() - self._last_commit < self.commit_interval
        ):
            return
        self._store_handled()
        try:
            self._consumer.commit(asynchronous=True)
        except KafkaException as exc:
            _log.warning("offset commit failed", error=str(exc))
        self._after_commit()

    def _commit_sync(self) -> None:
        """Commit every stored offset and wait for the broker (revoke, end of run, close)."""
        if not self._dirty:
            return
        self._store_handled()
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                # A failed commit means redelivery (at-least-once), never loss: report and go on.
                _log.warning("offset commit failed", error=str(exc))
                return
        self._dirty = False
        self._after_commit()

    def _after_commit(self) -> None:
        self._since_commit = 0
        self._last_commit = time.monotonic()
        self._update_lag()

    def _update_lag(self) -> None:
        for (topic, partition), offset in self._last_offsets.items():
            try:
                _low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except KafkaException:
                continue
            if high >= 0:
                metrics.lag().labels(topic, str(partition), self.group_id).set(max(0, high - offset - 1))

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The next owner starts from the committed offsets: commit what was handled, and wait.
        self._commit_sync()
        for tp in partitions:
            self._last_offsets.pop((tp.topic, tp.partition), None)

    @staticmethod
    def _on_commit(err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if err is not None and err.code() != KafkaError._NO_OFFSET:
            _log.warning("asynchronous offset commit failed", error=str(err))

    def _dead_letter(self, msg: Message, code: str, reason: str, *, retry_count: int) -> None:
        """Write the original bytes with error headers to the DLQ and wait for the ack.

        If the DLQ write fails we raise: the offset stays uncommitted, the message is not lost.
        """
        headers = [
            *(msg.headers() or []),
            ("error-code", code.encode()),
            ("error-reason", mask_text(reason)[:MAX_REASON_LENGTH].encode()),
            ("original-topic", (msg.topic() or "").encode()),
            ("original-partition", str(msg.partition()).encode()),
            ("original-offset", str(msg.offset()).encode()),
            ("retry-count", str(retry_count).encode()),
        ]
        failures: list[KafkaError] = []

        def report(err: KafkaError | None, _m: Message) -> None:
            if err is not None:
                failures.append(err)

        self._dlq.produce(
            self.dlq_topic, value=msg.value(), key=msg.key(), headers=headers, on_delivery=report
        )
        remaining = self._dlq.flush(30)
        if failures or remaining:
            raise ExternalServiceError(
                "EXT_5012",
                f"could not write to DLQ {self.dlq_topic}: {failures[0] if failures else 'timeout'}",
                details={"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset()},
            )
        _log.warning(
            "message sent to DLQ",
            code=code,
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
            retry_count=retry_count,
        )
