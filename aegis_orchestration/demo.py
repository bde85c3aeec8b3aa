"""`make run`: collect the bundled snapshot over real HTTP and materialize every asset for one day.

The replay server serves the snapshot on loopback under the real APIs' paths, so collection runs
the same HTTP code as production; only the base URLs differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg
import sqlalchemy as sa

from aegis_orchestration.definitions import all_assets, defs
from aegis_orchestration.partitions import SOURCES, TIMEZONE
from aegis_orchestration.resources import SourcesResource, default_resources
from aegis_orchestration.sources.replay import ReplayServer
from aegis_shared.stores.base import PolicyStore


@dataclass
class RunSummary:
    day: str
    collection_failures: list[str] = field(default_factory=list)
    policies_by_status: dict[str, int] = field(default_factory=dict)
    store_counts: dict[str, int] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    cold_path_success: bool = False

    @property
    def ok(self) -> bool:
        return self.cold_path_success and not self.collection_failures and all(self.checks.values())

    def render(self) -> str:
        lines = [f"Aegis local run for collection day {self.day}", "", "PostgreSQL policies by status:"]
        lines += [f"  {status:20} {count}" for status, count in sorted(self.policies_by_status.items())]
        lines += ["", "Serving stores (active policies):"]
        lines += [f"  {store:20} {count}" for store, count in self.store_counts.items()]
        passed = sum(self.checks.values())
        lines += ["", f"Checks passed: {passed}/{len(self.checks)}"]
        lines += [f"  {'PASS' if ok else 'FAIL'} {name}" for name, ok in sorted(self.checks.items())]
        if self.collection_failures:
            lines += ["", "Failed collection partitions: " + ", ".join(self.collection_failures)]
        return "\n".join(lines)


def today() -> str:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
        for e in result.get_asset_check_evaluations()
    }


def materialize_day(
    day: str,
    resources: dict[str, object],
    *,
    instance: dg.DagsterInstance | None = None,
    sources: tuple[str, ...] = SOURCES,
    log_level: str = "DEBUG",
) -> RunSummary:
    """Collect every source for ``day``, then run the cold path and every store sync with their checks."""
    summary = RunSummary(day=day)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    for source in sources:
        result = dg.materialize(
            all_assets,
            selection=["raw_announcements"],
            resources=resources,
            instance=instance,
            partition_key=dg.MultiPartitionKey({"date": day, "source": source}),
            raise_on_error=False,
            run_config=run_config,
        )
        if not result.success:
            summary.collection_failures.append(source)
    checks = list(defs.asset_checks or [])
    cold = dg.materialize(
        [*all_assets, *checks],
        selection=dg.AssetSelection.groups("cold_path", "serving"),
        resources=resources,
        instance=instance,
        partition_key=day,
        raise_on_error=False,
        run_config=run_config,
    )
    summary.cold_path_success = cold.success
    summary.checks = _checks(cold)
    summary.policies_by_status, summary.store_counts = store_counts(resources)
    return summary


def store_counts(resources: dict[str, object]) -> tuple[dict[str, int], dict[str, int]]:
    engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        by_status = dict(conn.execute(sa.text("SELECT status, count(*) FROM policies GROUP BY status")).all())
    counts = {"postgres (active)": by_status.get("active", 0)}
    for key in ("vectors", "graph", "search"):
        store: PolicyStore = resources[key].open()  # type: ignore[attr-defined]
        try:
            counts[f"{store.name} ({store.backend})"] = store.count()
        finally:
            store.close()
    return by_status, counts


def run(day: str | None = None) -> RunSummary:
    """Serve the snapshot, point every source at it, and materialize everything (DAGSTER_HOME instance)."""
    with ReplayServer(port=0) as server:
        resources = default_resources()
        base = server.base_url
        # The replay server accepts any key; real keys stay in AEGIS_* settings for the real APIs.
        resources["sources"] = SourcesResource(
            bizinfo_base_url=base,
            data_portal_base_url=base,
            rss_base_url=base,
            web_base_url=base,
            bizinfo_api_key="offline-replay",
            data_portal_service_key="offline-replay",
        )
        # Failures still print (ERROR); the step-by-step chatter is in the UI's run logs.
        instance = dg.DagsterInstance.get()
        return materialize_day(day or today(), resources, instance=instance, log_level="ERROR")
