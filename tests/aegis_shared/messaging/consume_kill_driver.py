"""Consumes with EventConsumer's batched commits and SIGKILLs itself mid-stream.

Used by ``test_consumer_commits.py``: a real process dies with handled-but-uncommitted messages
(no revoke, no close), and the test checks a restarted consumer loses none of them. Each handled
event id is written (and flushed) to the output file before the next message.
"""

from __future__ import annotations

import os
import signal
import sys

from aegis_shared.events import BundledSchemas, Envelope
from aegis_shared.messaging import EventConsumer

# kafka_helpers.FAST_GROUP (this script runs outside the test package).
FAST_GROUP = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000}


def main() -> None:
    bootstrap, topic, dlq, group, out_path, kill_after = sys.argv[1:7]
    handled = 0
    with open(out_path, "a", encoding="utf-8") as out:

        def handle(envelope: Envelope) -> None:
            nonlocal handled
            out.write(f"{envelope.event_id}\n")
            out.flush()
            handled += 1
            if handled == int(kill_after):
                os.kill(os.getpid(), signal.SIGKILL)

        consumer = EventConsumer(
            bootstrap,
            group,
            [topic],
            handle,
            registry=BundledSchemas(),
            dlq_topic=dlq,
            config=FAST_GROUP,
            commit_every=50,
            commit_interval=60,
        )
        consumer.run(timeout=120)
    raise SystemExit("the stream ended before the kill point")


if __name__ == "__main__":
    main()
