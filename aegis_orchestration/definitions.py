"""The one Definitions object of the Aegis code location.

Collection (day × source) → validation → dedup → quality → Postgres → {vectors, graph, search}, with
a consistency check per store, the hourly cold path, collection schedules, the hot-path Kafka
sensor and a run-failure sensor. Daily, ``expiry_job`` archives policies whose period has ended and
re-syncs the stores.
"""

from __future__ import annotations

import dagster as dg

from aegis_orchestration.assets.cold_path import cold_path_assets
from aegis_orchestration.assets.collection import raw_announcements
from aegis_orchestration.assets.maintenance import maintenance_assets
from aegis_orchestration.assets.stores import store_assets, store_checks
from aegis_orchestration.execution import executor_from_settings
from aegis_orchestration.hot_path.assets import staged_policies
from aegis_orchestration.hot_path.job import hot_path_job
from aegis_orchestration.jobs import cold_path_job, expiry_job, repair_stores_job, schema_migrate_job
from aegis_orchestration.log_setup import configure_entry_point_logging
from aegis_orchestration.resources import default_resources
from aegis_orchestration.schedules.cold_path import cold_path_hourly
from aegis_orchestration.schedules.collection import collection_jobs, collection_schedules
from aegis_orchestration.schedules.maintenance import expiry_daily
from aegis_orchestration.sensors.collection import collection_sensor
from aegis_orchestration.sensors.run_failure import run_failure_recorder

# Every process that loads the code location (the code server, each step process, `dagster dev`)
# redacts secrets and personal data from every line it writes, `context.log` included.
configure_entry_point_logging("aegis-dagster")

# The syncs read what expiry archived, so in expiry_job they run after it (in cold_path_job,
# which does not select expiry, the extra edge changes nothing).
synced_stores = [
    store.map_asset_specs(lambda spec: spec.merge_attributes(deps=["expired_policies"]))
    for store in store_assets
]

all_assets = [raw_announcements, staged_policies, *cold_path_assets, *maintenance_assets, *synced_stores]

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=store_checks,
    jobs=[cold_path_job, repair_stores_job, expiry_job, hot_path_job, schema_migrate_job, *collection_jobs],
    schedules=[cold_path_hourly, expiry_daily, *collection_schedules],
    sensors=[collection_sensor, run_failure_recorder],
    resources=default_resources(),
    # AEGIS_EXECUTOR: multiprocess (default) or celery (see aegis_orchestration.execution).
    executor=executor_from_settings(),
)
