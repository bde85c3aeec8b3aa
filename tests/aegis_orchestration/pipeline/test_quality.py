"""Great Expectations scoring: each dimension is the share of its row expectations a policy meets."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from aegis_orchestration.pipeline import quality
from aegis_orchestration.pipeline.lifecycle import Rules
from aegis_shared.errors import PipelineError
from aegis_shared.models import Announcement

TODAY = date(2026, 3, 2)


def complete(source_id: str, **overrides: object) -> Announcement:
    fields: dict[str, object] = {
        "source": "bizinfo",
        "source_id": source_id,
        "title": "2026년 수출바우처 지원사업 공고",
        "organization": "중소벤처기업부",
        "summary": "수출 초보 기업의 해외 마케팅 비용을 바우처로 지원합니다.",
        "url": "https://www.bizinfo.go.kr/p/1",
        "category": "수출",
        "period_start": date(2026, 2, 1),
        "period_end": date(2026, 3, 31),
        "region_codes": ["11"],
        "collected_at": datetime(2026, 3, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return Announcement.model_validate(fields)


@pytest.fixture(scope="module")
def report() -> quality.QualityReport:
    items = [
        complete("full"),
        complete("no_summary_no_url", summary=None, url=None),
        complete("closed", period_end=date(2026, 2, 28)),
        complete("placeholder_org", organization="직접수행"),
        complete(
            "bare",
            organization=None,
            summary=None,
            url=None,
            category=None,
            period_end=None,
            period_start=None,
            region_codes=[],
        ),
        complete("ancient", period_start=date(2019, 1, 1)),
        complete("open_ended", period_end=None, period_open_ended=True),
    ]
    return quality.score(quality.frame(items, [a.source_id for a in items], TODAY))


def row(report: quality.QualityReport, policy_id: str) -> dict[str, object]:
    return report.scores.set_index("policy_id").loc[policy_id].to_dict()


def test_a_complete_current_policy_scores_one(report: quality.QualityReport) -> None:
    assert row(report, "full") == {
        "completeness": 1.0,
        "accuracy": 1.0,
        "consistency": 1.0,
        "timeliness": 1.0,
        "total": 1.0,
    }


def test_each_dimension_moves_with_its_own_defects(report: quality.QualityReport) -> None:
    assert row(report, "no_summary_no_url")["completeness"] == pytest.approx(4 / 6, abs=1e-4)
    assert row(report, "closed")["timeliness"] == 0.5
    assert row(report, "placeholder_org")["consistency"] == pytest.approx(2 / 3, abs=1e-4)
    assert row(report, "open_ended")["timeliness"] == 1.0
    assert row(report, "ancient")["timeliness"] == 0.5


def test_every_part_and_the_total_stay_in_zero_one(report: quality.QualityReport) -> None:
    assert (
        report.scores[["completeness", "accuracy", "consistency", "timeliness", "total"]]
        .stack()
        .between(0, 1)
        .all()
    )


def test_the_total_weighs_the_parts_with_the_configured_weights() -> None:
    items = [complete("placeholder_org", organization="직접수행")]
    frame = quality.frame(items, ["p"], TODAY)
    default = quality.score(frame).scores.iloc[0]
    only_consistency = Rules(weights={"completeness": 0, "accuracy": 0, "consistency": 1, "timeliness": 0})
    weighted = quality.score(frame, only_consistency).scores.iloc[0]
    assert weighted["total"] == pytest.approx(default["consistency"], abs=1e-4)
    assert weighted["total"] < default["total"]


def test_output_suite_passes_on_scores_and_fails_on_a_corrupt_frame(report: quality.QualityReport) -> None:
    decided = report.scores.assign(status="active")
    assert quality.validate_frame(decided, quality.output_expectations(), "ok").success
    corrupt = decided.copy()
    corrupt.loc[0, "total"] = 1.7
    corrupt.loc[1, "policy_id"] = corrupt.loc[0, "policy_id"]
    result = quality.validate_frame(corrupt, quality.output_expectations(), "bad")
    failed = {r.expectation_config.type for r in result.results if not r.success}
    assert failed == {"expect_column_values_to_be_unique", "expect_column_values_to_be_between"}


def test_histogram_counts_every_policy(report: quality.QualityReport) -> None:
    chart = quality.histogram_markdown(report.scores["total"])
    counts = [int(line.split("|")[2]) for line in chart.splitlines()[2:]]
    assert sum(counts) == len(report.scores)
    assert "active from 0.7" in chart


def test_empty_input_scores_nothing() -> None:
    assert quality.score(quality.frame([], [], TODAY)).scores.empty


def test_an_expectation_that_cannot_run_fails_loudly_instead_of_scoring_full_marks() -> None:
    df = quality.frame([complete("x")], ["x"], TODAY).drop(columns=["url"])
    with pytest.raises(PipelineError) as error:
        quality.score(df)
    assert error.value.code == "DP_2009"
