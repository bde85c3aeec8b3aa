"""Jobs over the asset graph."""

from __future__ import annotations

import dagster as dg

cold_path_job = dg.define_asset_job(
    "cold_path_job",
    selection=dg.AssetSelection.groups("cold_path", "serving"),
    description="Validate, deduplicate, score and upsert one collection day, then sync every serving store.",
)

repair_stores_job = dg.define_asset_job(
    "repair_stores_job",
    selection=dg.AssetSelection.groups("serving"),
    description="Re-sync exactly what the consistency checks found missing, stale or orphaned.",
)

expiry_job = dg.define_asset_job(
    "expiry_job",
    selection=dg.AssetSelection.groups("maintenance", "serving"),
    description="Archive policies whose period ended before the day, then sync every serving store.",
)
