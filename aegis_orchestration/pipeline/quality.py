"""Quality scoring with Great Expectations 1.x over a pandas frame.

Each of the four dimensions (completeness, accuracy, consistency, timeliness) is a set of
row-level expectations; a policy's dimension score is the share of them it meets, so every
number can be traced to a named expectation. The total weighs them with the configured weights
(:class:`~aegis_orchestration.pipeline.lifecycle.Rules`); what status follows from a total is the
lifecycle rule's business, not this module's. GX is imported lazily: it is slow to import and
only the cold path needs it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from aegis_orchestration.pipeline.lifecycle import Rules
from aegis_shared.config import QUALITY_DIMENSIONS
from aegis_shared.errors import PipelineError
from aegis_shared.models import Announcement, PolicyStatus
from aegis_shared.text.regions import ALL_REGION_CODES

if TYPE_CHECKING:
    import great_expectations as gx

PLACEHOLDER_ORGANIZATIONS = ["기초자치단체", "광역자치단체", "직접수행", "공공기관", "민간", "기타", "-"]
DIMENSIONS = QUALITY_DIMENSIONS


def frame(announcements: Sequence[Announcement], policy_ids: Sequence[str], today: date) -> pd.DataFrame:
    """One row per policy with the columns the expectations read."""
    rows = []
    for policy_id, item in zip(policy_ids, announcements, strict=True):
        rows.append(
            {
                "policy_id": policy_id,
                "title": item.title,
                "title_length": len(item.title),
                "organization": item.organization,
                "summary": item.summary,
                "summary_length": len(item.summary or ""),
                "url": item.url,
                "category": item.category,
                "period_start": pd.Timestamp(item.period_start) if item.period_start else pd.NaT,
                "period_end": pd.Timestamp(item.period_end) if item.period_end else pd.NaT,
                "has_period": bool(item.period_end or item.period_open_ended),
                "region_count": len(item.region_codes),
                "regions_valid": all(code in ALL_REGION_CODES for code in item.region_codes),
                "target_count": len(item.target_groups),
                "open_on_day": item.period_open_ended
                or (item.period_end is not None and item.period_end >= today),
                "days_since_start": (today - item.period_start).days if item.period_start else 0,
                "summary_is_title": (item.summary or "").strip() == item.title.strip(),
            }
        )
    return pd.DataFrame(rows) if rows else pd.DataFrame({"policy_id": pd.Series(dtype="object")})


def _row_expectations() -> dict[str, list[Any]]:
    import great_expectations as gx

    e = gx.expectations
    return {
        "completeness": [
            e.ExpectColumnValuesToNotBeNull(column="organization"),
            e.ExpectColumnValuesToNotBeNull(column="summary"),
            e.ExpectColumnValuesToNotBeNull(column="url"),
            e.ExpectColumnValuesToNotBeNull(column="category"),
            e.ExpectColumnValuesToBeInSet(column="has_period", value_set=[True]),
            e.ExpectColumnValuesToBeBetween(column="region_count", min_value=1),
        ],
        "accuracy": [
            e.ExpectColumnValuesToMatchRegex(column="url", regex=r"^https?://[^\s/]+\.[^\s]+$"),
            e.ExpectColumnValuesToBeBetween(column="title_length", min_value=5, max_value=300),
            e.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="period_end",
                column_B="period_start",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
            e.ExpectColumnValuesToBeInSet(column="regions_valid", value_set=[True]),
        ],
        "consistency": [
            e.ExpectColumnValuesToNotBeInSet(column="organization", value_set=PLACEHOLDER_ORGANIZATIONS),
            e.ExpectColumnValuesToBeInSet(column="summary_is_title", value_set=[False]),
            e.ExpectColumnValuesToBeBetween(column="summary_length", min_value=20),
        ],
        "timeliness": [
            e.ExpectColumnValuesToBeInSet(column="open_on_day", value_set=[True]),
            # A programme that opened years ago and is still "open" is usually a stale listing.
            e.ExpectColumnValuesToBeBetween(column="days_since_start", min_value=-180, max_value=730),
        ],
    }


def _context() -> gx.data_context.AbstractDataContext:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_frame(df: pd.DataFrame, expectations: Sequence[Any], name: str) -> Any:
    """Run ``expectations`` over ``df`` in an ephemeral GX context and return the result."""
    import great_expectations as gx

    context = _context()
    batch = (
        context.data_sources.add_pandas(name=f"aegis_{name}")
        .add_dataframe_asset(name=name)
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": df})
    )
    suite = gx.ExpectationSuite(name=name, expectations=list(expectations))
    return batch.validate(suite, result_format={"result_format": "COMPLETE"})


@dataclass(frozen=True)
class QualityReport:
    scores: pd.DataFrame  # policy_id, completeness, accuracy, consistency, timeliness, total
    failures: dict[str, int]  # expectation id -> rows failing it


def score(df: pd.DataFrame, rules: Rules | None = None) -> QualityReport:
    """Score every row in [0, 1] per dimension and weight them into ``total`` (``rules``' weights)."""
    rules = rules or Rules()
    result = pd.DataFrame({"policy_id": df["policy_id"]})
    failures: dict[str, int] = {}
    if df.empty:
        for dimension in (*DIMENSIONS, "total"):
            result[dimension] = pd.Series(dtype="float64")
        return QualityReport(result, failures)
    groups = _row_expectations()
    for dimension, exps in groups.items():
        for exp in exps:
            exp.meta = {"dimension": dimension}  # GX does not keep suite order in its results
    validation = validate_frame(df, [exp for exps in groups.values() for exp in exps], "policy_rows")
    passed = {dimension: pd.Series(0.0, index=df.index) for dimension in groups}
    for outcome in validation.results:
        config = outcome.expectation_config
        dimension = config.meta["dimension"]
        if _raised(outcome.exception_info or {}):
            # An expectation that could not run must not count as met by every row.
            raise PipelineError(
                "DP_2009",
                f"quality expectation {config.type} failed to run",
                details={"expectation": config.type, "kwargs": dict(config.kwargs)},
            )
        failing = pd.Series(False, index=df.index)
        failing.loc[list(outcome.result.get("unexpected_index_list") or [])] = True
        passed[dimension] += (~failing).astype(float)
        column = config.kwargs.get("column") or config.kwargs.get("column_A")
        failures[f"{dimension}:{config.type}:{column}"] = int(failing.sum())
    for dimension, exps in groups.items():
        result[dimension] = (passed[dimension] / len(exps)).round(4)
    result["total"] = sum(result[d] * rules.weights[d] for d in DIMENSIONS).round(4)
    return QualityReport(result, failures)


def _raised(info: dict[str, Any]) -> bool:
    """GX reports errors either flat or per metric; either way the expectation did not run."""
    nested = (value for value in info.values() if isinstance(value, dict))
    return bool(info.get("raised_exception")) or any(v.get("raised_exception") for v in nested)


def output_expectations() -> list[Any]:
    """Dataset-level expectations on the scored frame: the blocking check's suite."""
    import great_expectations as gx

    e = gx.expectations
    checks: list[Any] = [
        e.ExpectColumnValuesToBeUnique(column="policy_id"),
        e.ExpectColumnValuesToNotBeNull(column="policy_id"),
        e.ExpectColumnValuesToBeInSet(
            column="status",
            value_set=[PolicyStatus.ACTIVE.value, PolicyStatus.REJECTED.value, PolicyStatus.ARCHIVED.value],
        ),
    ]
    checks += [
        e.ExpectColumnValuesToBeBetween(column=d, min_value=0, max_value=1) for d in (*DIMENSIONS, "total")
    ]
    return checks


def histogram_markdown(totals: pd.Series, bins: int = 10, threshold: float = Rules.threshold) -> str:
    """A Markdown bar chart of the total score distribution (readable in the Dagster UI)."""
    if totals.empty:
        return "_no policies scored_"
    # Bucket i holds [i/bins, (i+1)/bins); 1.0 joins the top bucket, so 0.7 sits with the actives.
    buckets = (totals * bins + 1e-9).astype(int).clip(0, bins - 1)
    counts = buckets.value_counts().reindex(range(bins), fill_value=0)
    widest = max(int(counts.max()), 1)
    lines = ["| score | count | |", "|---|---:|---|"]
    for bucket, count in counts.items():
        low = bucket / bins
        bar = "█" * max(round(30 * count / widest), 1 if count else 0)
        marker = f" ← active from {threshold:g}" if low <= threshold < low + 1 / bins - 1e-9 else ""
        lines.append(f"| {low:.1f}–{low + 1 / bins:.1f} | {count} | {bar}{marker} |")
    return "\n".join(lines)


def mean_total_by_source(candidates: Sequence[Any], scores: pd.DataFrame) -> dict[str, float]:
    """Mean quality total per source of the surviving record (the ``aegis_data_quality_score`` gauge)."""
    if not len(scores):
        return {}
    source_of = {c.policy_id: c.survivor.source for c in candidates}
    by_source = scores.assign(source=scores["policy_id"].map(source_of)).groupby("source")["total"].mean()
    return {str(source): float(mean) for source, mean in by_source.items()}
