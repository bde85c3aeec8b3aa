"""Partitions shared by collection and the cold path.

Collection is partitioned by day × source, so one failing source fails only its own partitions
and a date-range backfill is a normal launch. A collection partition holds what its source
registered or updated on that day in Asia/Seoul (see ``aegis_orchestration.sources.days``), so a
backfill over a month asks each source for each day once. The cold path is partitioned by collection day and
reads every source of that day through a dimension mapping.
"""

from __future__ import annotations

import dagster as dg

from aegis_orchestration.sources.registry import source_names

TIMEZONE = "Asia/Seoul"
START_DATE = "2026-01-01"

# The source table's rows when the code location loads (a partition set is static).
API_SOURCES = source_names(scraped=False)
SCRAPED_SOURCES = source_names(scraped=True)
SOURCES = API_SOURCES + SCRAPED_SOURCES

# end_offset=1: today's partition exists, so collection and the hourly cold path can run for it.
daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone=TIMEZONE, end_offset=1)
source_partitions = dg.StaticPartitionsDefinition(list(SOURCES))
collection_partitions = dg.MultiPartitionsDefinition({"date": daily_partitions, "source": source_partitions})

# Cold-path assets depend on every source of their day.
by_collection_date = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
