"""Serving-store syncs (vectors, graph, search) and their consistency checks against Postgres.

Each sync reconciles its store with PostgreSQL by content hash, so a run is incremental, deletes
policies that left the active set, and also repairs any drift a consistency check found. A store
outage fails only that store's asset with its DP_300x code; Postgres and the other stores are
untouched, and the next run repairs the store.
"""

import time
from collections.abc import Callable

import dagster as dg

from aegis_orchestration.partitions import daily_partitions
from aegis_orchestration.pipeline.outbox import event_message, write_messages
from aegis_orchestration.pipeline.store_sync import SYNC_ERROR_CODES, measure_drift, sync_store
from aegis_orchestration.resources import KafkaResource, MetricsResource, PostgresResource
from aegis_orchestration.resources.stores import (
    GraphStoreResource,
    SearchStoreResource,
    StoreOpener,
    VectorStoreResource,
)
from aegis_shared.errors import PipelineError
from aegis_shared.stores.base import PolicyStore

GROUP = "serving"
SYNC_EVENT = "DataSyncCompleted"
SYNC_RETRY = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL)


def _open(store_resource: StoreOpener, name: str) -> PolicyStore:
    """Open the store, turning an unreachable server into the store's DP_300x error."""
    try:
        return store_resource.open()
    except Exception as error:
        raise PipelineError(
            SYNC_ERROR_CODES[name], f"cannot reach the {name} store: {error}", details={"store": name}
        ) from error


def _sync(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    metrics: MetricsResource,
    store_resource: StoreOpener,
    name: str,
) -> dg.MaterializeResult:
    with metrics.run() as recorded:
        started, status = time.perf_counter(), "error"
        try:
            result = _sync_store(context, postgres, kafka, store_resource, name)
            status = "success"
            return result
        finally:
            # A failed attempt counts even when Dagster retries it: the alert is about failures.
            recorded.count("aegis_db_sync_total", target_db=name, status=status)
            recorded.observe("aegis_db_sync_latency_seconds", time.perf_counter() - started, target_db=name)


def _sync_store(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    store_resource: StoreOpener,
    name: str,
) -> dg.MaterializeResult:
    store = _open(store_resource, name)
    try:
        report = sync_store(postgres.engine(), store)
        count = store.count()
    finally:
        store.close()
    partition_range = context.partition_key_range if context.has_partition_key_range else None
    data = report.event_data()
    if partition_range is not None:
        data["partition"] = f"{partition_range.start}..{partition_range.end}"
    engine = postgres.engine()
    with kafka.publisher() as builder, engine.begin() as connection:
        # One report per store and run: a step retried within the run does not report twice.
        once = f"{SYNC_EVENT}:{report.store}:{context.run.run_id}"
        write_messages(
            connection, [event_message(builder, SYNC_EVENT, data, key=report.store, dedupe_key=once)]
        )
    published = kafka.relay_outbox(engine)
    context.log.info(f"{SYNC_EVENT} for {report.store} written; {published} outbox event(s) published")
    return dg.MaterializeResult(
        metadata={
            "backend": report.backend,
            "upserted": report.upserted,
            "deleted": report.deleted,
            "unchanged": report.unchanged,
            "expected_total": report.total,
            "store_count": count,
            "found_missing": len(report.repaired["missing"]),
            "found_stale": len(report.repaired["stale"]),
            "found_orphaned": len(report.repaired["orphaned"]),
            "written_or_deleted_ids": dg.MetadataValue.json({k: v[:20] for k, v in report.repaired.items()}),
            "duration_ms": round(report.duration_ms, 1),
            "dagster/row_count": count,
        }
    )


def _consistency(postgres: PostgresResource, store_resource: StoreOpener, name: str) -> dg.AssetCheckResult:
    store = _open(store_resource, name)
    try:
        drift = measure_drift(postgres.engine(), store)
    finally:
        store.close()
    return dg.AssetCheckResult(
        passed=drift.clean,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            key: dg.MetadataValue.json(value) if isinstance(value, list) else value
            for key, value in drift.summary().items()
        },
        description=None
        if drift.clean
        else f"{len(drift.missing)} missing, {len(drift.stale)} stale, {len(drift.orphaned)} orphaned; "
        "materialize the store asset to repair exactly these.",
    )


def _store_asset(
    name: str, kind: str, resource_key: str, description: str
) -> Callable[..., dg.AssetsDefinition]:
    """The sync asset of one store; the decorated function names its store resource as a parameter."""
    return dg.asset(
        name=name,
        group_name=GROUP,
        partitions_def=daily_partitions,
        deps=["policies"],
        kinds={kind},
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=SYNC_RETRY,
        # One writer per store across all runs (sync, repair, backfill): dagster.yaml limits pools to 1.
        pool=f"store_{resource_key}",
        description=description,
    )


def _store_check(asset: dg.AssetsDefinition) -> Callable[..., dg.AssetChecksDefinition]:
    name = asset.key.to_user_string()
    return dg.asset_check(
        asset=asset,
        name=f"{name}_consistent_with_postgres",
        description=f"Compares {name}'s ids and content hashes with Postgres's active policies and names "
        "missing, stale and orphaned entries.",
    )


@_store_asset(
    "policy_vectors",
    "milvus",
    "vectors",
    "Milvus embeddings (title + summary) of every active policy, with the embedding model id stored.",
)
def policy_vectors(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    metrics: MetricsResource,
    vectors: VectorStoreResource,
) -> dg.MaterializeResult:
    return _sync(context, postgres, kafka, metrics, vectors, "vectors")


@_store_check(policy_vectors)
def policy_vectors_consistency(
    postgres: PostgresResource, vectors: VectorStoreResource
) -> dg.AssetCheckResult:
    return _consistency(postgres, vectors, "vectors")


@_store_asset(
    "policy_graph",
    "neo4j",
    "graph",
    "Policy knowledge graph: Policy, Organization, Region, Industry, Category and TargetGroup nodes, "
    "idempotent MERGE.",
)
def policy_graph(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    metrics: MetricsResource,
    graph: GraphStoreResource,
) -> dg.MaterializeResult:
    return _sync(context, postgres, kafka, metrics, graph, "graph")


@_store_check(policy_graph)
def policy_graph_consistency(postgres: PostgresResource, graph: GraphStoreResource) -> dg.AssetCheckResult:
    return _consistency(postgres, graph, "graph")


@_store_asset(
    "policy_search_index",
    "elasticsearch",
    "search",
    "Full-text index of active policies (OpenSearch with 2–3-character n-grams by default, Elasticsearch "
    "with nori, or tantivy n-grams with the lite stack).",
)
def policy_search_index(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    metrics: MetricsResource,
    search: SearchStoreResource,
) -> dg.MaterializeResult:
    return _sync(context, postgres, kafka, metrics, search, "search")


@_store_check(policy_search_index)
def policy_search_index_consistency(
    postgres: PostgresResource, search: SearchStoreResource
) -> dg.AssetCheckResult:
    return _consistency(postgres, search, "search")


store_assets = [policy_vectors, policy_graph, policy_search_index]
store_checks = [policy_vectors_consistency, policy_graph_consistency, policy_search_index_consistency]
