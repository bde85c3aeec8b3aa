"""Runs the hot path for one range chunk by chunk, as the job does, reporting each commit.

Used by ``test_job.py`` to SIGKILL a real process after some chunks are committed and before
anything is published. Reads its stack from ``AEGIS_*`` variables.
"""

from __future__ import annotations

import sys
import time

import sqlalchemy as sa

from aegis_orchestration.hot_path.offsets import OffsetRange, read_range
from aegis_orchestration.hot_path.processor import DEFAULT_BATCH_SIZE, HotPathProcessor
from aegis_shared.config import get_settings


def main() -> None:
    topic, (partition, start, end, stop_after) = sys.argv[1], map(int, sys.argv[2:6])
    settings = get_settings()
    records = read_range(settings.kafka_bootstrap, OffsetRange(topic, partition, start, end))
    engine = sa.create_engine(settings.postgres_url.get_secret_value())
    processor = HotPathProcessor(engine, settings)
    # The same chunks HotPathProcessor.stage makes inside the job, one transaction each.
    for index in range(0, len(records), DEFAULT_BATCH_SIZE):
        processor.stage(records[index : index + DEFAULT_BATCH_SIZE])
        chunk = index // DEFAULT_BATCH_SIZE + 1
        print(f"committed {chunk}", flush=True)
        if chunk == stop_after:
            time.sleep(3600)  # the test kills us here; publishing is never reached
    raise SystemExit("the range had fewer chunks than the test expected")


if __name__ == "__main__":
    main()
