"""Launch one partition of a job as a real out-of-process run on the ``DAGSTER_HOME`` instance.

``dagster.materialize`` always runs in process; a distributed executor (Celery) needs a run whose
steps other processes can rebuild from a code pointer, with every event in the instance's
PostgreSQL. This is that run, started the way ``dagster job launch`` would start it, for tests,
the scale benchmark and operators without the UI:

    python -m aegis_orchestration.runs cold_path_job 2026-11-20

It prints the run id (first line) and the run's final status, and exits 1 if the run failed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository

CODE_MODULE = "aegis_orchestration.definitions"


def reconstructable_job(name: str) -> Any:
    """The job as a pointer into this code location, which Celery workers rebuild by import."""
    return ReconstructableRepository.for_module(CODE_MODULE, "defs").get_reconstructable_job(name)


def run_partition(
    job: str,
    partition: str,
    instance: dg.DagsterInstance,
    *,
    run_config: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> dg.JobExecutionResult:
    """Run ``job`` for ``partition`` with the job's executor (``AEGIS_EXECUTOR``) and wait for it."""
    return dg.execute_job(
        reconstructable_job(job),
        instance=instance,
        run_config=run_config,
        tags={"dagster/partition": partition, **(tags or {})},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("job")
    parser.add_argument("partition")
    parser.add_argument("--in-process", action="store_true", help="every step in this process")
    parser.add_argument(
        "--without", action="append", default=[], help="leave out this asset (and its checks); repeatable"
    )
    args = parser.parse_args(argv)
    run_config = {"execution": {"config": {"in_process": {}}}} if args.in_process else None
    with dg.DagsterInstance.get() as instance:
        job = reconstructable_job(args.job)
        subset: dict[str, Any] = {}
        if args.without:
            layer = job.get_definition().asset_layer
            left_out = {dg.AssetKey.from_user_string(name) for name in args.without}
            assets = frozenset(layer.selected_asset_keys - left_out)
            checks = frozenset(c for c in layer.asset_graph.asset_check_keys if c.asset_key in assets)
            subset = {"asset_selection": assets, "asset_check_selection": checks}
            job = job.get_subset(**subset)
        # Created first so the caller learns the run id while the run is still going.
        run = instance.create_run_for_job(
            job.get_definition(),
            run_config=run_config,
            tags={"dagster/partition": args.partition},
            asset_selection=subset.get("asset_selection"),
        )
        print(run.run_id, flush=True)
        from dagster._core.execution.api import execute_run

        result = execute_run(job, run, instance)
        print(result.dagster_run.status.value, flush=True)
        return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
