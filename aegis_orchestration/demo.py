"""`make run`: collect the bundled snapshot over real HTTP and materialize every asset, as of a day.

The replay server serves the snapshot on loopback under the real APIs' paths, so collection runs
the same HTTP code as production; only the base URLs differ. The snapshot's dates are re-anchored
to the as-of day (its newest registration becomes the day before), so the mix of open, upcoming
and ended programmes is the one it was written with, whatever the calendar says. Collection
partitions hold what a source registered or updated that day, so the demo collects a window of
days before the as-of day and runs the cold path for each; the lifecycle rule decides as of that
day (``AEGIS_AS_OF``).

Its output is the summary and real problems only: logging starts at WARNING unless
``AEGIS_LOG_LEVEL`` says otherwise (the libraries' INFO chatter, httpx requests and Great
Expectations' registrations, belongs to a debugging session), and pymilvus' one expected notice
about Milvus Lite is dropped by its exact text.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from aegis_orchestration.definitions import all_assets, defs
from aegis_orchestration.log_setup import configure_entry_point_logging
from aegis_orchestration.partitions import SOURCES, TIMEZONE
from aegis_orchestration.resources import SourcesResource, default_resources
from aegis_orchestration.sources.replay import ReplayServer
from aegis_shared.config import get_settings
from aegis_shared.stores.base import PolicyStore

DEFAULT_WINDOW_DAYS = 14

# Milvus Lite, a single-process file, has no server timestamp for iterators; pymilvus then uses
# the client's, which is exactly right there. Any other pymilvus warning still prints.
_MILVUS_LITE_NOTICE = "failed to get mvccTs from milvus server, use client-side ts instead"


class _DropMessage(logging.Filter):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


def _warnings_and_above(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


def _quiet_output() -> None:
    """Keep the demo's output to the summary and real problems (see the module docstring)."""
    if not get_settings().log_level:
        logging.getLogger().setLevel(logging.WARNING)
        # Great Expectations sets this logger to INFO when it is imported ("Created temporary
        # directory … for ephemeral docs site" on every validation); a filter outlasts that.
        logging.getLogger("great_expectations.data_context.types.base").addFilter(_warnings_and_above)
    logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_DropMessage(_MILVUS_LITE_NOTICE))


@dataclass
class RunSummary:
    as_of: str
    days: list[str] = field(default_factory=list)
    collection_failures: list[str] = field(default_factory=list)
    cold_path_failures: list[str] = field(default_factory=list)
    policies_by_status: dict[str, int] = field(default_factory=dict)
    reasons_by_status: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected_at_collection: dict[str, int] = field(default_factory=dict)
    store_counts: dict[str, int] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def cold_path_success(self) -> bool:
        return bool(self.days) and not self.cold_path_failures

    @property
    def ok(self) -> bool:
        return self.cold_path_success and not self.collection_failures and all(self.checks.values())

    def render(self) -> str:
        window = f"{self.days[0]} … {self.days[-1]}" if self.days else "no days"
        lines = [
            f"Aegis local run as of {self.as_of} (Asia/Seoul): the bundled snapshot re-anchored so its",
            f"newest registration is the day before; collected {len(self.days)} days ({window}).",
            "",
            "PostgreSQL policies by status, with the top reasons:",
        ]
        for status, count in sorted(self.policies_by_status.items()):
            lines.append(f"  {status:20} {count}")
            reasons = sorted(self.reasons_by_status.get(status, {}).items(), key=lambda kv: (-kv[1], kv[0]))
            lines += [f"      {code:24} {n}" for code, n in reasons[:3]]
        if self.rejected_at_collection:
            lines += ["", "Rejected at collection (collection_rejections, also on the DLQ):"]
            lines += [f"  {code:20} {n}" for code, n in sorted(self.rejected_at_collection.items())]
        lines += ["", "Serving stores (policies a founder can apply to now or soon):"]
        lines += [f"  {store:20} {count}" for store, count in self.store_counts.items()]
        passed = sum(self.checks.values())
        lines += ["", f"Checks passed: {passed}/{len(self.checks)}"]
        lines += [f"  {'PASS' if ok else 'FAIL'} {name}" for name, ok in sorted(self.checks.items())]
        if self.collection_failures:
            lines += ["", "Failed collection partitions: " + ", ".join(self.collection_failures)]
        if self.cold_path_failures:
            lines += ["", "Failed cold-path days: " + ", ".join(self.cold_path_failures)]
        return "\n".join(lines)


def today() -> str:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()


def _checks(result: dg.ExecuteInProcessResult, day: str | None = None) -> dict[str, bool]:
    suffix = f"@{day}" if day else ""
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}{suffix}": e.passed
        for e in result.get_asset_check_evaluations()
    }


def materialize_window(
    as_of: date,
    resources: dict[str, object],
    *,
    days: int = DEFAULT_WINDOW_DAYS,
    instance: dg.DagsterInstance | None = None,
    sources: tuple[str, ...] = SOURCES,
    log_level: str = "DEBUG",
) -> RunSummary:
    """Collect every source for each of the ``days`` days up to ``as_of``, run the cold path for each
    day, then every store sync with its checks. Lifecycle decisions are made as of the settings'
    as-of day (``AEGIS_AS_OF``), which callers set to ``as_of``.
    """
    window = [as_of - timedelta(days=n) for n in range(days, -1, -1)]
    summary = RunSummary(as_of=as_of.isoformat(), days=[d.isoformat() for d in window])
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    checks = list(defs.asset_checks or [])
    for day in summary.days:
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
                summary.collection_failures.append(f"{day}|{source}")
        cold = dg.materialize(
            [*all_assets, *checks],
            selection=dg.AssetSelection.groups("cold_path"),
            resources=resources,
            instance=instance,
            partition_key=day,
            raise_on_error=False,
            run_config=run_config,
        )
        if not cold.success:
            summary.cold_path_failures.append(day)
        summary.checks.update(_checks(cold, day))
    # The store syncs reconcile each store with PostgreSQL as a whole: once, after the last day.
    serving = dg.materialize(
        [*all_assets, *checks],
        selection=dg.AssetSelection.groups("serving"),
        resources=resources,
        instance=instance,
        partition_key=summary.days[-1],
        raise_on_error=False,
        run_config=run_config,
    )
    if not serving.success:
        summary.cold_path_failures.append("serving")
    summary.checks.update(_checks(serving))
    engine = resources["postgres"].engine()  # type: ignore[attr-defined]
    summary.reasons_by_status = reasons_by_status(engine)
    summary.rejected_at_collection = rejected_at_collection(engine)
    summary.policies_by_status, summary.store_counts = store_counts(resources)
    return summary


# The reasons behind each policy's current status: those its latest decision recorded.
_REASONS = sa.text(
    """
    SELECT p.status, r->>'code' AS code, count(*) FROM policies p
    CROSS JOIN LATERAL (
        SELECT details FROM processing_history h WHERE h.policy_id = p.id ORDER BY h.id DESC LIMIT 1
    ) AS last
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(last.details->'reasons', '[]'::jsonb)) AS r
    WHERE p.deleted_at IS NULL
    GROUP BY 1, 2
    """
)


def reasons_by_status(engine: sa.Engine) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for status, code, count in conn.execute(_REASONS):
            out.setdefault(status, {})[code] = count
    return out


def rejected_at_collection(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(
            conn.execute(sa.text("SELECT code, count(*) FROM collection_rejections GROUP BY code")).all()
        )


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


def run(day: str | None = None, *, days: int = DEFAULT_WINDOW_DAYS) -> RunSummary:
    """Serve the snapshot anchored to ``day``, point every source at it, and materialize everything
    as of ``day`` (default today in Seoul) into the DAGSTER_HOME instance."""
    configure_entry_point_logging("aegis-demo")
    _quiet_output()
    as_of = date.fromisoformat(day or today())
    # Decide lifecycles for the day the snapshot is anchored to (this process only).
    os.environ["AEGIS_AS_OF"] = as_of.isoformat()
    get_settings.cache_clear()
    with ReplayServer(port=0, anchor=as_of) as server:
        resources = default_resources()
        # The replay server accepts any key; real keys stay in AEGIS_* settings for the real APIs.
        resources["sources"] = SourcesResource.offline(server.base_url, "offline-replay")
        # Failures still print (ERROR); the step-by-step chatter is in the UI's run logs.
        instance = dg.DagsterInstance.get()
        return materialize_window(as_of, resources, days=days, instance=instance, log_level="ERROR")
