"""aegis_orchestration: the Dagster code location of the Aegis data platform.

It ships in the same distribution as ``aegis_shared`` but needs the ``orchestration`` extra
(Dagster, pandas, Great Expectations, the source clients); without it, importing this package,
and so the ``aegis`` command, fails with SYS_7010 naming the install line.

Dagster warns, in every process that loads the code location (``make run``, the code server, each
run worker), about choices made here on purpose. They are filtered by exact message, before any
module of the package is imported, so their output keeps only real problems:

* ``BackfillPolicy`` and ``MultiToSingleDimensionPartitionMapping`` are beta: we use them knowingly
  (single-run store syncs, cold-path days over collection's day × source) and pin Dagster 1.13.
* ``cold_path_job`` mixes single-run store syncs with per-day cold-path assets; Dagster picks one
  run per partition for the job, which is what the hourly cold path launches anyway.
"""

import warnings

from aegis_shared._extras import require_extra

require_extra("orchestration", "aegis_orchestration (the Dagster code location)")


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
