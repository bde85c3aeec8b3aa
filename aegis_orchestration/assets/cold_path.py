"""The cold path: full validation, cross-source dedup, GX quality scoring, Postgres upsert.

Partitioned by collection day; each day reads every source's collection partition of that day,
plus whatever the hot path staged as ``pending_validation``.
"""

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date

import dagster as dg
import pandas as pd

from aegis_orchestration.partitions import by_collection_date, daily_partitions
from aegis_orchestration.pipeline import decisions, dedup, lifecycle, policies, policy_events, quality
from aegis_orchestration.pipeline.policies import ValidatedBatch
from aegis_orchestration.resources import KafkaResource, MetricsResource, PostgresResource
from aegis_shared.config import get_settings
from aegis_shared.models import PolicyStatus

GROUP = "cold_path"


@dataclass(frozen=True)
class DedupedBatch:
    day: date
    candidates: list[dedup.PolicyCandidate]


def _day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


_LATENCY = "aegis_pipeline_processing_latency_seconds"


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    # staged_policies: what the hot path wrote as pending_validation, finished here.
    deps=[dg.AssetDep("raw_announcements", partition_mapping=by_collection_date), "staged_policies"],
    kinds={"python", "postgres"},
    description="Every record collected that day (and every hot-path record pending validation), fully "
    "validated: required fields, lengths, period and URL sanity, markup removed. Rejections are kept "
    "with their code in processing_history.",
)
def validated_announcements(
    context: dg.AssetExecutionContext, postgres: PostgresResource, metrics: MetricsResource
) -> dg.Output[ValidatedBatch]:
    started = time.perf_counter()
    # Hot-path records are finished by the newest day's run only (see policies.validate_day).
    newest = context.partition_key == daily_partitions.get_last_partition_key()
    batch = policies.validate_day(
        postgres.engine(), _day(context), with_pending=newest, run_id=context.run.run_id
    )
    valid, rejected = batch.valid, batch.rejected
    by_code = Counter(r.code for r in rejected)
    with metrics.run() as recorded:
        recorded.count("aegis_pipeline_processing_total", len(valid), path="cold", status="success")
        recorded.count("aegis_pipeline_processing_total", len(rejected), path="cold", status="error")
        recorded.observe(_LATENCY, time.perf_counter() - started, path="cold")
    return dg.Output(
        batch,
        metadata={
            "input_rows": batch.records,
            "collected_rows": batch.collected,
            "pending_rows": batch.pending,
            "valid_rows": len(valid),
            "rejected_rows": len(rejected),
            "rejections_by_code": dg.MetadataValue.json(dict(by_code)),
            "duration_ms": _ms(started),
        },
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    kinds={"python", "postgres"},
    description="The same programme seen from several sources becomes one policy (normalised title, "
    "organisation and period; near-duplicate titles matched by fuzzy ratio). The survivor keeps every "
    "source's id. Records are also matched against existing active policies of the same blocks, so a "
    "programme another source posts on a later day joins the policy that already exists.",
)
def deduplicated_announcements(
    postgres: PostgresResource, metrics: MetricsResource, validated_announcements: ValidatedBatch
) -> dg.Output[DedupedBatch]:
    started = time.perf_counter()
    engine = postgres.engine()
    records = validated_announcements.valid
    keys_filled = policies.fill_dedup_keys(engine)
    stored = policies.load_stored(engine, records)
    candidates = dedup.deduplicate(records, stored)
    merged = [c for c in candidates if len(c.source_ids) > 1]
    joined = {c.policy_id: [m for m in c.members if m.policy_id != c.policy_id] for c in candidates}
    with metrics.run() as recorded:
        recorded.observe(_LATENCY, time.perf_counter() - started, path="cold")
    return dg.Output(
        DedupedBatch(validated_announcements.day, candidates),
        metadata={
            "input_rows": len(records),
            "policies": len(candidates),
            "existing_policies_read": len(stored),
            "records_joining_existing": sum(len(joined[c.policy_id]) for c in candidates if c.stored),
            "dedup_keys_filled": keys_filled,
            "duplicate_groups": len(merged),
            "records_merged": sum(len(v) for v in joined.values()),
            "example_groups": dg.MetadataValue.json([c.source_ids for c in merged[:5]]),
            "duration_ms": _ms(started),
        },
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    kinds={"pandas", "great_expectations"},
    check_specs=[
        dg.AssetCheckSpec(
            "quality_expectations",
            asset="policy_quality",
            blocking=True,
            description="Great Expectations suite over the scored frame; blocks the "
            "Postgres write when it fails.",
        )
    ],
    description="Completeness, accuracy, consistency and timeliness per policy in [0, 1], each the share of "
    "its Great Expectations row expectations met, weighted into a total (AEGIS_QUALITY_WEIGHTS). The "
    "lifecycle rule then decides each status as of today in Asia/Seoul (AEGIS_AS_OF overrides): an ended "
    "or source-closed programme is archived whatever its score; otherwise a total at or above "
    "AEGIS_QUALITY_ACTIVE_THRESHOLD (0.7) is active and below it rejected. Every status carries its reasons.",
)
def policy_quality(
    context: dg.AssetExecutionContext, metrics: MetricsResource, deduplicated_announcements: DedupedBatch
):
    started = time.perf_counter()
    settings = get_settings()
    today, rules = lifecycle.as_of(settings), lifecycle.Rules.from_settings(settings)
    candidates = deduplicated_announcements.candidates
    report = decisions.score(candidates, today=today, rules=rules)
    scores = decisions.decide(candidates, report.scores, today=today, rules=rules)
    by_status = Counter(scores["status"]) if len(scores) else Counter()
    reasons = Counter(r["code"] for rs in scores["reasons"] for r in rs) if len(scores) else Counter()
    with metrics.run() as recorded:
        for source, mean in quality.mean_total_by_source(candidates, scores).items():
            recorded.set("aegis_data_quality_score", mean, source=source)
        recorded.observe(_LATENCY, time.perf_counter() - started, path="cold")
    yield dg.Output(
        scores,
        metadata={
            "as_of": today.isoformat(),
            "policies": len(scores),
            **{status.value: by_status.get(status.value, 0) for status in _DECIDED},
            "reasons": dg.MetadataValue.json(dict(reasons.most_common())),
            "active_threshold": rules.threshold,
            "mean_total": float(scores["total"].mean()) if len(scores) else 0.0,
            **{f"mean_{d}": float(scores[d].mean()) if len(scores) else 0.0 for d in quality.DIMENSIONS},
            "score_histogram": dg.MetadataValue.md(
                quality.histogram_markdown(scores["total"], threshold=rules.threshold)
            ),
            "failing_rows_by_expectation": dg.MetadataValue.json(report.failures),
            "duration_ms": _ms(started),
        },
    )
    outcome = quality.validate_frame(
        scores.drop(columns=["reasons"]), quality.output_expectations(), "policy_quality_output"
    )
    failed = [r.expectation_config.type for r in outcome.results if not r.success]
    yield dg.AssetCheckResult(
        check_name="quality_expectations",
        passed=bool(outcome.success),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"expectations": len(outcome.results), "failed": dg.MetadataValue.json(failed)},
    )


_DECIDED = (PolicyStatus.ACTIVE, PolicyStatus.ARCHIVED, PolicyStatus.REJECTED)


@dg.asset(
    name="policies",
    group_name=GROUP,
    partitions_def=daily_partitions,
    kinds={"postgres"},
    description="PostgreSQL `policies`, the source of truth: idempotent upserts keyed on the policy id, with "
    "status transitions, quality_metrics, processing_history and audit_logs. Publishes PolicyQualityUpdated "
    "per status change.",
)
def policies_asset(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    metrics: MetricsResource,
    deduplicated_announcements: DedupedBatch,
    policy_quality: pd.DataFrame,
) -> dg.MaterializeResult:
    started = time.perf_counter()
    engine = postgres.engine()
    with kafka.publisher() as events:
        report = policies.upsert_policies(
            engine,
            deduplicated_announcements.candidates,
            policy_quality,
            run_id=context.run.run_id,
            events=events,
        )
    # The events were written to the outbox with the rows; the relay publishes whatever is pending.
    published = kafka.relay_outbox(engine)
    with metrics.run() as recorded:
        recorded.observe(_LATENCY, time.perf_counter() - started, path="cold")
        if metrics.pushes():
            recorded.set("aegis_pipeline_lag_seconds", policies.pending_lag_seconds(engine), path="cold")
    # The status changes were appended to the policies' event streams with the rows.
    projected = policy_events.update_status_history(engine)
    return dg.MaterializeResult(
        metadata={
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "archived_duplicates": report.archived,
            "sources_merged": report.sources_merged,
            "status_changes": len(report.transitions),
            "outbox_events_published": published,
            "status_history_events_projected": projected,
            "duration_ms": _ms(started),
            "dagster/row_count": policies.count_policies(engine),
        }
    )


cold_path_assets = [validated_announcements, deduplicated_announcements, policy_quality, policies_asset]
