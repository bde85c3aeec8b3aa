"""Jobs over the asset graph."""

import dagster as dg

from aegis_orchestration.resources import PostgresResource

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


@dg.op(description="Bring the Aegis database to the bundled schema registry (never drops anything).")
def migrate_schema(context: dg.OpExecutionContext, postgres: PostgresResource) -> None:
    result = postgres.migrate()
    steps = [f"{step.kind} {step.table}" for step in result.plan.steps] if result.applied else []
    context.log.info(
        f"schema migrate: {len(steps)} step(s) applied" + (f": {', '.join(steps)}" if steps else "")
    )


@dg.job(description="The explicit schema migration step: resources only check the schema version.")
def schema_migrate_job() -> None:
    migrate_schema()
