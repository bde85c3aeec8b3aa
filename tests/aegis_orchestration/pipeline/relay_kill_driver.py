"""Runs the outbox relay claim by claim and stops, for good, before committing claim N.

Used by ``test_outbox_relay_crash.py`` to SIGKILL a real relay process after it produced a claim
to Kafka and before it marked it published. Reads PostgreSQL and Kafka from ``AEGIS_*`` variables.
"""

from __future__ import annotations

import sys
import time

import sqlalchemy as sa
from confluent_kafka import Producer

from aegis_orchestration.pipeline.outbox import OutboxRelay
from aegis_shared.config import get_settings


class StallingRelay(OutboxRelay):
    """A real relay that hangs where a crash hurts most: produced and flushed, not committed."""

    def __init__(self, *args: object, stall_on: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stall_on = stall_on
        self.claims = 0

    def _commit_claim(self, conn: sa.Connection, producer: Producer, ids: list[int]) -> None:
        self.claims += 1
        if self.claims == self.stall_on:
            print(f"produced claim {self.claims}", flush=True)
            time.sleep(3600)  # the test kills us here
        super()._commit_claim(conn, producer, ids)
        print(f"committed claim {self.claims}", flush=True)


def main() -> None:
    claim_size, stall_on, timeout_ms = map(int, sys.argv[1:4])
    settings = get_settings()
    engine = sa.create_engine(settings.postgres_url.get_secret_value())
    relay = StallingRelay(
        engine,
        settings.kafka_bootstrap,
        claim_size=claim_size,
        retention=None,
        transaction_timeout_ms=timeout_ms,
        stall_on=stall_on,
    )
    relay.publish_pending()
    raise SystemExit("the outbox had fewer claims than the test expected")


if __name__ == "__main__":
    main()
