"""Dead letters: read them, and replay them to their original topic exactly once.

Every dead letter Aegis writes (the consumer's, the hot path's, collection rejections) holds the
original bytes, key and headers plus ``error-code``, ``error-reason`` and, when it came from a
Kafka topic, ``original-topic``/``-partition``/``-offset``. Replay sends the original bytes and
key back to ``original-topic`` with the application headers only, plus ``aegis-replay-id`` (the
dead letter's own ``dlq-topic/partition/offset``) and ``aegis-replayed-from``.

**Never twice.** Kafka cannot tell us what was already replayed, so the ledger lives in PostgreSQL
(``dlq_replays``, one row per dead letter, keyed by its replay id):

1. one replayer per DLQ topic at a time (a transaction-scoped advisory lock);
2. a row is committed as ``pending`` *before* the produce, then marked ``sent`` after the ack;
3. a dead letter with a ``sent`` row is skipped;
4. a ``pending`` row means an earlier replay died between produce and ack: the original topic is
   searched for a message carrying that replay id, and only if none is found is it sent again.

So a crash at any point neither loses a replay nor sends one twice. Collection rejections have no
original topic (they came from HTTP, not Kafka), so no ``--topic`` selects them: they are listed
and shown but never replayed; re-running their collection partition is how they are retried.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from aegis_shared._extras import require_extra

require_extra("kafka", "aegis_shared.messaging.dlq")

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from aegis_shared.errors import ExternalServiceError, PipelineError, is_registered
from aegis_shared.logging import get_logger

REPLAY_ID_HEADER = "aegis-replay-id"
REPLAYED_FROM_HEADER = "aegis-replayed-from"
# Headers the DLQ writers add; a replay strips them so the message looks as it first did.
DLQ_HEADERS = frozenset(
    {
        "error-code",
        "error-reason",
        "original-topic",
        "original-partition",
        "original-offset",
        "original-source",
        "original-source-id",
        "partition-date",
        "stage",
        "retry-count",
        REPLAY_ID_HEADER,
        REPLAYED_FROM_HEADER,
    }
)
_CODE = re.compile(r"^[A-Z]+_\d{4}$")
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# A stable 64-bit key for pg_advisory_xact_lock, derived from the DLQ topic name.
_LOCK_SQL = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 7013))")

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message of a dead-letter topic."""

    dlq_topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def id(self) -> str:
        """``partition:offset`` inside its DLQ topic (what ``aegis dlq show`` takes)."""
        return f"{self.partition}:{self.offset}"

    @property
    def replay_id(self) -> str:
        return f"{self.dlq_topic}/{self.partition}/{self.offset}"

    def header(self, name: str) -> str | None:
        """The last value of header ``name``: a dead letter replayed and failed again carries the
        newest failure last."""
        value = None
        for key, raw in self.headers:
            if key == name:
                value = raw.decode("utf-8", "replace") if raw is not None else ""
        return value

    @property
    def code(self) -> str:
        return self.header("error-code") or "?"

    @property
    def reason(self) -> str:
        return self.header("error-reason") or ""

    @property
    def original_topic(self) -> str | None:
        return self.header("original-topic") or None

    @property
    def origin(self) -> str:
        """Where it came from, for people: a topic position or a collection source."""
        if self.original_topic:
            return (
                f"{self.original_topic}[{self.header('original-partition')}]@{self.header('original-offset')}"
            )
        source = self.header("original-source")
        return f"collection {source}:{self.header('original-source-id') or '?'}" if source else "?"

    def replay_headers(self) -> list[tuple[str, bytes]]:
        kept = [(k, v) for k, v in self.headers if k not in DLQ_HEADERS]
        return [*kept, (REPLAY_ID_HEADER, self.replay_id.encode()), (REPLAYED_FROM_HEADER, self.id.encode())]


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which dead letters an operation covers; empty fields match everything."""

    original_topic: str | None = None
    since: datetime | None = None
    codes: frozenset[str] = frozenset()

    def matches(self, letter: DeadLetter) -> bool:
        if self.original_topic is not None and letter.original_topic != self.original_topic:
            return False
        if self.since is not None and letter.timestamp < self.since:
            return False
        return not self.codes or letter.code in self.codes


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``--since``: a duration back from now (``90m``, ``6h``, ``2d``, ``1w``) or an ISO 8601 date
    or time (a time without an offset is UTC)."""
    raw = text.strip()
    if match := _DURATION.match(raw):
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise PipelineError(
            "DP_4010",
            f"--since {text!r} is neither a duration like 30m, 6h, 2d or 1w nor an ISO date/time "
            "like 2026-12-01 or 2026-12-01T09:00:00+09:00",
            details={"argument": "since"},
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_codes(codes: Iterable[str]) -> frozenset[str]:
    """``--code`` values, each a registered error code (``DP_4004``; case-insensitive)."""
    out = set()
    for raw in codes:
        code = raw.strip().upper()
        if not _CODE.match(code) or not is_registered(code):
            raise PipelineError(
                "DP_4010",
                f"--code {raw!r} is not a registered error code (e.g. DP_4004); see docs/errors.md",
                details={"argument": "code"},
            )
        out.add(code)
    return frozenset(out)


def parse_id(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+):(\d+)", text.strip())
    if not match:
        raise PipelineError(
            "DP_4010",
            f"dead-letter id {text!r} must be PARTITION:OFFSET as `aegis dlq list` prints it (e.g. 0:12)",
            details={"argument": "id"},
        )
    return int(match[1]), int(match[2])


# -- reading -----------------------------------------------------------------------------------


def _reader(bootstrap: str) -> Consumer:
    # Assigned, never subscribed, never committed: reading the DLQ changes no group's position.
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"aegis-dlq-reader-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )


def _partitions(consumer: Consumer, topic: str, timeout: float) -> list[int]:
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
    except KafkaException as exc:
        raise ExternalServiceError("EXT_5030", f"cannot read topic metadata: {exc}") from exc
    info = metadata.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        raise PipelineError("DP_4012", f"topic {topic!r} does not exist", details={"topic": topic})
    return sorted(info.partitions)


def _scan(
    consumer: Consumer, topic: str, starts: dict[int, int], ends: dict[int, int], timeout: float
) -> Iterator[Message]:
    """Every message of ``topic`` between ``starts`` and ``ends`` (exclusive), per partition."""
    todo = {p: ends[p] for p in ends if starts.get(p, ends[p]) < ends[p]}
    if not todo:
        return
    consumer.assign([TopicPartition(topic, p, starts[p]) for p in todo])
    deadline = time.monotonic() + timeout
    while todo:
        if time.monotonic() > deadline:
            raise ExternalServiceError(
                "EXT_5030",
                f"reading {topic} timed out with {len(todo)} partition(s) unfinished",
                details={"topic": topic},
            )
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        error = msg.error()
        if error is not None:
            if error.fatal():
                raise ExternalServiceError("EXT_5030", f"reading {topic} failed: {error}")
            continue
        partition = msg.partition()
        if partition not in todo:
            continue
        if (msg.offset() or 0) + 1 >= todo[partition]:
            del todo[partition]
        yield msg


def _bounds(
    consumer: Consumer, topic: str, since: datetime | None, timeout: float
) -> tuple[dict[int, int], dict[int, int]]:
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    for p in _partitions(consumer, topic, timeout):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout, cached=False)
        starts[p], ends[p] = low, high
    if since is not None and ends:
        millis = int(since.timestamp() * 1000)
        found = consumer.offsets_for_times([TopicPartition(topic, p, millis) for p in ends], timeout=timeout)
        for tp in found:
            # -1: nothing at or after ``since`` in this partition.
            starts[tp.partition] = tp.offset if tp.offset >= 0 else ends[tp.partition]
    return starts, ends


def _letter(msg: Message) -> DeadLetter:
    _kind, millis = msg.timestamp()
    stamp = datetime.fromtimestamp(millis / 1000, UTC) if millis > 0 else datetime.fromtimestamp(0, UTC)
    return DeadLetter(
        dlq_topic=msg.topic() or "",
        partition=msg.partition() or 0,
        offset=msg.offset() or 0,
        timestamp=stamp,
        key=msg.key(),
        value=msg.value(),
        headers=tuple(
            (k, v if isinstance(v, bytes) else (v or "").encode()) for k, v in _header_pairs(msg.headers())
        ),
    )


def read_dead_letters(
    bootstrap: str,
    dlq_topic: str,
    selection: DeadLetterFilter = DeadLetterFilter(),
    *,
    timeout: float = 30.0,
) -> list[DeadLetter]:
    """Every dead letter in ``dlq_topic`` now (up to the high watermarks) that ``selection`` matches,
    in partition then offset order."""
    consumer = _reader(bootstrap)
    try:
        starts, ends = _bounds(consumer, dlq_topic, selection.since, timeout)
        letters = [_letter(m) for m in _scan(consumer, dlq_topic, starts, ends, timeout)]
    finally:
        consumer.close()
    return sorted((x for x in letters if selection.matches(x)), key=lambda x: (x.partition, x.offset))


def get_dead_letter(bootstrap: str, dlq_topic: str, letter_id: str, *, timeout: float = 30.0) -> DeadLetter:
    partition, offset = parse_id(letter_id)
    consumer = _reader(bootstrap)
    try:
        partitions = _partitions(consumer, dlq_topic, timeout)
        if partition in partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(dlq_topic, partition), timeout=timeout, cached=False
            )
            if low <= offset < high:
                for msg in _scan(consumer, dlq_topic, {partition: offset}, {partition: offset + 1}, timeout):
                    if msg.offset() == offset:
                        return _letter(msg)
    finally:
        consumer.close()
    raise PipelineError(
        "DP_4011",
        f"no dead letter {letter_id} in {dlq_topic} (deleted by retention, or never written)",
        details={"topic": dlq_topic, "id": letter_id},
    )


def _topic_has_replay(bootstrap: str, topic: str, replay_id: str, since: datetime, timeout: float) -> bool:
    """Whether ``topic`` holds a message with ``aegis-replay-id: replay_id`` written after ``since``."""
    consumer = _reader(bootstrap)
    wanted = replay_id.encode()
    try:
        starts, ends = _bounds(consumer, topic, since - timedelta(minutes=1), timeout)
        for msg in _scan(consumer, topic, starts, ends, timeout):
            if (REPLAY_ID_HEADER, wanted) in (msg.headers() or []):
                return True
    finally:
        consumer.close()
    return False


# -- the ledger ----------------------------------------------------------------------------------


def _header_pairs(headers: object) -> list[tuple[str, str | bytes | None]]:
    """A message's headers as pairs, whether the client gives a list or a dict."""
    if isinstance(headers, dict):
        return list(headers.items())
    pairs: list[tuple[str, str | bytes | None]] = list(headers or [])  # type: ignore[call-overload]  # pairs or None
    return pairs


_TABLE = "dlq_replays"  # schemas/db/dlq_replays.yaml


def replayed_ids(engine: sa.Engine, replay_ids: Sequence[str]) -> dict[str, str]:
    """Ledger status (``pending``/``sent``) of each of ``replay_ids`` that has a row."""
    if not replay_ids:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(f"SELECT replay_id, status FROM {_TABLE} WHERE replay_id = ANY(:ids)"),  # nosec B608 # table and column names are module constants; values are bound
            {"ids": list(replay_ids)},
        )
        return {row.replay_id: row.status for row in rows}


Outcome = Literal["replayed", "already replayed", "would replay"]


@dataclass(frozen=True, slots=True)
class ReplayItem:
    letter: DeadLetter
    outcome: Outcome
    target: str | None = None
    target_offset: int | None = None


@dataclass(slots=True)
class ReplayReport:
    """What one replay did, dead letter by dead letter."""

    dlq_topic: str
    dry_run: bool = False
    items: list[ReplayItem] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    @property
    def replayed(self) -> int:
        return self.count("replayed")

    @property
    def skipped(self) -> int:
        return len(self.items) - self.replayed - self.count("would replay")

    def summary(self) -> str:
        parts = [f"{len(self.items)} dead letter(s) matched in {self.dlq_topic}"]
        for outcome in ("would replay", "replayed", "already replayed"):
            if n := self.count(outcome):
                parts.append(f"{n} {outcome}")
        return "; ".join(parts)


def replay_dead_letters(
    engine: sa.Engine,
    bootstrap: str,
    dlq_topic: str,
    selection: DeadLetterFilter,
    *,
    dry_run: bool = False,
    timeout: float = 30.0,
) -> ReplayReport:
    """Replay each matching dead letter to its original topic once; see the module docstring."""
    if selection.original_topic == dlq_topic:
        raise PipelineError(
            "DP_4010",
            f"--topic {dlq_topic} is the dead-letter topic itself; --topic names the original topic "
            "whose dead letters are replayed",
            details={"argument": "topic"},
        )
    target = selection.original_topic
    if not target:
        raise PipelineError(
            "DP_4010",
            "replay needs --topic: the original topic whose dead letters are sent back",
            details={"argument": "topic"},
        )
    probe = _reader(bootstrap)
    try:
        _partitions(probe, target, timeout)  # DP_4012 when it does not exist
    finally:
        probe.close()
    report = ReplayReport(dlq_topic, dry_run=dry_run)
    with engine.begin() as lock:
        # Held until this function returns: two replayers of one DLQ cannot interleave.
        lock.execute(_LOCK_SQL, {"name": dlq_topic})
        letters = read_dead_letters(bootstrap, dlq_topic, selection, timeout=timeout)
        ledger = replayed_ids(engine, [x.replay_id for x in letters])
        producer: Producer | None = None
        try:
            for letter in letters:
                status = ledger.get(letter.replay_id)
                if status == "sent":
                    report.items.append(ReplayItem(letter, "already replayed", target))
                    continue
                if dry_run:
                    report.items.append(ReplayItem(letter, "would replay", target))
                    continue
                if status == "pending":
                    claimed = _claimed_at(engine, letter.replay_id)
                    if _topic_has_replay(bootstrap, target, letter.replay_id, claimed, timeout):
                        _mark_sent(engine, letter.replay_id, None)
                        report.items.append(ReplayItem(letter, "already replayed", target))
                        continue
                else:
                    _claim(engine, letter, target)
                if producer is None:
                    producer = Producer(
                        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"}
                    )
                offset = _produce(producer, letter, target)
                _mark_sent(engine, letter.replay_id, offset)
                report.items.append(ReplayItem(letter, "replayed", target, offset))
                _log.info("dead letter replayed", dlq_topic=dlq_topic, id=letter.id, code=letter.code,
                          target=target, target_offset=offset)  # fmt: skip
        finally:
            if producer is not None:
                producer.flush(10)
    return report


def _claim(engine: sa.Engine, letter: DeadLetter, target: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                f"INSERT INTO {_TABLE} (replay_id, dlq_topic, dlq_partition, dlq_offset, error_code, "  # nosec B608 # table and column names are module constants; values are bound
                "target_topic, status) VALUES (:rid, :topic, :partition, :offset, :code, :target, 'pending') "
                "ON CONFLICT (replay_id) DO NOTHING"
            ),
            {
                "rid": letter.replay_id,
                "topic": letter.dlq_topic,
                "partition": letter.partition,
                "offset": letter.offset,
                "code": letter.code,
                "target": target,
            },
        )


def _claimed_at(engine: sa.Engine, replay_id: str) -> datetime:
    with engine.connect() as connection:
        claimed: datetime = connection.execute(
            sa.text(f"SELECT claimed_at FROM {_TABLE} WHERE replay_id = :rid"),  # nosec B608 # constant table
            {"rid": replay_id},
        ).scalar_one()
        return claimed


def _mark_sent(engine: sa.Engine, replay_id: str, offset: int | None) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                f"UPDATE {_TABLE} SET status = 'sent', target_offset = :offset, sent_at = now() "  # nosec B608 # table and column names are module constants; values are bound
                "WHERE replay_id = :rid"
            ),
            {"rid": replay_id, "offset": offset},
        )


def _produce(producer: Producer, letter: DeadLetter, target: str) -> int:
    outcome: dict[str, Any] = {}

    def delivered(err: KafkaError | None, msg: Message) -> None:
        outcome["error"], outcome["offset"] = err, msg.offset()

    headers: list[tuple[str, str | bytes | None]] = list(letter.replay_headers())
    producer.produce(target, value=letter.value, key=letter.key, headers=headers, on_delivery=delivered)
    remaining = producer.flush(30)
    if remaining or outcome.get("error") is not None or "offset" not in outcome:
        # The ledger row stays pending: the next replay checks the topic before sending again.
        raise ExternalServiceError(
            "EXT_5031",
            f"replaying {letter.id} to {target} failed: {outcome.get('error') or 'delivery timed out'}",
            details={"dlq_topic": letter.dlq_topic, "id": letter.id, "target": target},
        )
    return int(outcome["offset"])
