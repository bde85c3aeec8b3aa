"""aegis_orchestration: the Dagster code location of the Aegis data platform.

Dagster warns, in every process that loads the code location (``make run``, the code server, each
run worker), about choices made here on purpose. They are filtered by exact message, before any
module of the package is imported, so their output keeps only real problems:

* ``BackfillPolicy`` and ``MultiToSingleDimensionPartitionMapping`` are beta: we use them knowingly
  (single-run store syncs, cold-path days over collection's day × source) and pin Dagster 1.13.
* ``cold_path_job`` mixes single-run store syncs with per-day cold-path assets; Dagster picks one
  run per partition for the job, which is what the hourly cold path launches anyway.
"""

import warnings

# By message, not dagster.BetaWarning: `aegis devstack` imports this package and must not load Dagster.
warnings.filterwarnings(
    "ignore",
    message=r"(Parameter `backfill_policy` of function `asset`"
    r"|Class `MultiToSingleDimensionPartitionMapping`) is currently in beta",
)
warnings.filterwarnings(
    "ignore",
    message=r"Asset job \w+ materializes assets with varying BackfillPolicies",
    category=UserWarning,
)
