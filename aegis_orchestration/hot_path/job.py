"""``hot_path_job``: materializes ``staged_policies`` for one offset range (requested by the sensor).

Retries are safe because staging is idempotent and messages go through the outbox: a retried or
re-executed run for the same range writes no row and no event twice.
"""

from __future__ import annotations

import dagster as dg

from aegis_orchestration.hot_path.assets import staged_policies

hot_path_job = dg.define_asset_job(
    "hot_path_job",
    selection=[staged_policies],
    description="Stage one Kafka offset range of collected announcements as pending_validation policies.",
    op_retry_policy=dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL),
    tags={"aegis/path": "hot"},
)
