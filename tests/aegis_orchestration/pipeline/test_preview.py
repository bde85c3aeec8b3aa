"""preview(): the cold path's decisions without a store, as a data engineer asks them.

Which programmes a founder is shown (the lifecycle rule), which records become one policy (dedup
that never merges two programmes) and why, for each.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aegis_orchestration.pipeline import preview
from aegis_orchestration.pipeline.lifecycle import Rules
from aegis_shared.models import Announcement

TODAY = date(2026, 11, 20)


def programme(
    source: str, source_id: str, title: str = "2026년 청년창업 지원사업 모집 공고", **fields: object
):
    """A complete, well-formed announcement: it scores full quality while its period is open."""
    values: dict[str, object] = {
        "source": source,
        "source_id": source_id,
        "title": title,
        "organization": "창업진흥원",
        "category": "창업",
        "summary": "예비창업자와 3년 이내 창업기업에 사업화 자금과 멘토링을 지원합니다.",
        "url": f"https://www.k-startup.go.kr/{source_id}",
        "period_start": TODAY - timedelta(days=10),
        "period_end": TODAY + timedelta(days=20),
        "region_codes": ["11"],
    }
    return Announcement.model_validate(values | fields)


def one(items: list[Announcement], **kwargs: object):
    result = preview(items, today=TODAY, **kwargs)  # type: ignore[arg-type]
    assert len(result.policies) == 1, [p.policy_id for p in result.policies]
    return result.policies[0]


# ---- lifecycle -------------------------------------------------------------------------------


def test_an_open_complete_programme_is_active_and_says_until_when() -> None:
    policy = one([programme("kstartup", "1")])
    assert policy.status == "active" and policy.total == 1.0
    assert policy.reason_codes == ["quality_passed"]
    assert "open until 2026-12-10" in policy.status_reason


@pytest.mark.parametrize("days_ago", [1, 30, 400])
def test_an_ended_programme_is_archived_whatever_its_quality(days_ago: int) -> None:
    end = TODAY - timedelta(days=days_ago)
    policy = one([programme("bizinfo", "1", period_start=end - timedelta(days=30), period_end=end)])
    assert policy.status == "archived"
    assert policy.reason_codes == ["period_ended"]
    assert f"ended on {end.isoformat()}, before {TODAY.isoformat()}" in policy.status_reason


def test_a_programme_ending_today_is_still_active() -> None:
    assert one([programme("mss", "1", period_end=TODAY)]).status == "active"


def test_a_programme_its_source_closed_is_archived_even_with_an_open_period() -> None:
    policy = one([programme("kstartup", "1", closed_by_source=True)])
    assert policy.status == "archived"
    assert policy.reason_codes == ["closed_by_source"]
    assert "kstartup marks applications as closed" in policy.status_reason


@pytest.mark.parametrize("mark", ["[마감]", "(접수마감)", "【모집종료】", "[종료]"])
def test_a_title_that_says_the_call_is_closed_is_archived_with_that_mark(mark: str) -> None:
    policy = one([programme("web", "1", title=f"{mark} 2026년 청년창업 지원사업 모집 공고")])
    assert policy.status == "archived"
    assert policy.reason_codes == ["closed_by_source"]
    assert mark in policy.status_reason


@pytest.mark.parametrize(
    "title", ["[마감임박] 2026년 청년창업 지원사업", "2026년 청년창업 지원사업 (예산 소진 시 조기마감)"]
)
def test_a_title_saying_closing_soon_or_may_close_early_stays_active(title: str) -> None:
    assert one([programme("web", "1", title=title)]).status == "active"


def test_an_upcoming_programme_is_active() -> None:
    start = TODAY + timedelta(days=5)
    policy = one([programme("web", "1", period_start=start, period_end=start + timedelta(days=30))])
    assert policy.status == "active"
    assert f"upcoming: opens {start.isoformat()}" in policy.status_reason


def test_an_open_ended_programme_is_active_and_its_note_is_shown() -> None:
    policy = one(
        [programme("rss", "1", period_end=None, period_open_ended=True, period_note="예산 소진 시까지")]
    )
    assert policy.status == "active"
    assert "open-ended (예산 소진 시까지)" in policy.status_reason


def test_a_low_quality_open_programme_is_rejected_with_its_parts() -> None:
    bare = programme(
        "bizinfo", "1", organization=None, summary=None, url=None, category=None, region_codes=[]
    )
    policy = one([bare])
    assert policy.status == "rejected" and policy.total < 0.7
    assert policy.reason_codes == ["quality_below_threshold"]
    assert f"quality {policy.total:.2f} < 0.70" in policy.status_reason
    assert f"completeness {policy.completeness:.2f}" in policy.status_reason


def test_an_ended_low_quality_programme_is_archived_not_rejected() -> None:
    end = TODAY - timedelta(days=3)
    policy = one([programme("bizinfo", "1", summary=None, url=None, period_end=end)])
    assert policy.status == "archived" and policy.reason_codes == ["period_ended"]


def test_threshold_and_weights_are_settings_not_constants() -> None:
    item = programme("bizinfo", "1", category=None)  # completeness 5/6: total 0.95 by the seed weights
    assert one([item]).status == "active"
    assert one([item], rules=Rules(threshold=0.99)).status == "rejected"
    only_completeness = {"completeness": 1.0, "accuracy": 0.0, "consistency": 0.0, "timeliness": 0.0}
    policy = one([item], rules=Rules(threshold=0.9, weights=only_completeness))
    assert policy.total == pytest.approx(5 / 6, abs=1e-4) and policy.status == "rejected"


def test_bad_records_come_back_as_rejections_with_their_code() -> None:
    result = preview(
        [programme("kstartup", "1"), programme("kstartup", "2", url="javascript:alert(1)")], today=TODAY
    )
    assert [p.policy_id for p in result.policies] == ["kstartup:1"]
    (rejection,) = result.rejections
    assert (rejection.source, rejection.source_id, rejection.code) == ("kstartup", "2", "DP_2007")
    assert "javascript" in rejection.reason


def test_announcements_may_be_given_as_json_dicts() -> None:
    result = preview([programme("kstartup", "1").model_dump(mode="json")], today=TODAY)
    assert result.policies[0].status == "active"


# ---- dedup: different programmes stay apart -------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("[서울] 2026년 청년창업 지원사업 모집 공고", "[부산] 2026년 청년창업 지원사업 모집 공고"),
        ("2026년 청년창업 지원사업 1차 모집 공고", "2026년 청년창업 지원사업 2차 모집 공고"),
        ("2026년 청년창업 지원사업 (1차) 모집 공고", "2026년 청년창업 지원사업 모집 공고"),
        ("제3기 청년창업사관학교 입교생 모집 공고", "4기 청년창업사관학교 입교생 모집 공고"),
        ("2026년 상반기 수출바우처 참여기업 모집 공고", "2026년 하반기 수출바우처 참여기업 모집 공고"),
        ("2026년 청년창업 지원사업 모집 공고", "2027년 청년창업 지원사업 모집 공고"),
        ("2026년도 청년창업 지원사업 모집 공고", "'27년 청년창업 지원사업 모집 공고"),
        ("2026년 청년창업 지원사업 모집 공고", "2026년 청년창업 지원사업 추가모집 공고"),
        (
            "2026년 소상공인 스마트상점 기술보급사업 참여기업 모집 공고",
            "2026년 소상공인 스마트공방 기술보급사업 참여기업 모집 공고",
        ),
        ("2026년 청년창업 지원사업 모집 공고", "2026년 청년창업 융자사업 모집 공고"),
        # A label naming a city (not a 시도) or anything else is part of which programme it is.
        ("(수원시) 2026년 청년창업 지원사업 모집 공고", "(용인시) 2026년 청년창업 지원사업 모집 공고"),
        ("[중기부] 2026년 청년창업 지원사업 모집 공고", "[산업부] 2026년 청년창업 지원사업 모집 공고"),
    ],
)
def test_titles_naming_different_programmes_are_never_merged(first: str, second: str) -> None:
    result = preview(
        [
            programme("bizinfo", "1", first, region_codes=[]),
            programme("kstartup", "2", second, region_codes=[]),
        ],
        today=TODAY,
    )
    assert sorted(p.policy_id for p in result.policies) == ["bizinfo:1", "kstartup:2"]
    assert all(p.merges == [] for p in result.policies)


def test_same_title_in_different_regions_stays_two_policies() -> None:
    result = preview(
        [programme("bizinfo", "1", region_codes=["11"]), programme("kstartup", "2", region_codes=["26"])],
        today=TODAY,
    )
    assert {p.policy_id: p.region_codes for p in result.policies} == {
        "bizinfo:1": ["11"],
        "kstartup:2": ["26"],
    }


def test_same_title_from_different_organisations_stays_two_policies() -> None:
    result = preview(
        [programme("bizinfo", "1"), programme("kstartup", "2", organization="서울경제진흥원")], today=TODAY
    )
    assert len(result.policies) == 2


# ---- dedup: true copies merge, and say why --------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("2026년 청년창업 지원사업 모집 공고", "2026년도 청년창업 지원사업 모집 공고"),
        ("「2026년 청년창업 지원사업」 모집 공고", "2026년 청년창업 지원사업 모집 공고"),
        ("[공고] 2026년 청년창업 지원사업 모집 공고", "2026년 청년창업 지원사업 모집 공고"),
        ("2026년 청년창업 지원사업 모집 공고", "2026년  청년 창업 지원사업  모집 공고 "),
        ("2026년 청년창업 지원사업 모집 공고", "2026년 청년창업 지원사업 모집공고"),
        ("[서울] 2026년 청년창업 지원사업 모집 공고", "2026년 청년창업 지원사업 모집공고"),
        ("2026년 청년창업 지원사업 모집 공고", "2026년 청년창업 지원사업 공고"),
        ("2026년 청년창업 지원사업 모집 공고", "2026년 청년창업 지원사업 모집 공고 (재공고)"),
        ("제3기 청년창업 지원사업 모집 공고", "3기 청년창업 지원사업 모집 공고"),
        ("2026년 창업ㆍ벤처 지원사업 모집 공고", "2026년 창업·벤처 지원사업 모집 공고"),
        ("[서울ㆍ인천ㆍ경기] 2026년 청년창업 지원사업 모집 공고", "2026년 청년창업 지원사업 모집 공고"),
    ],
)
def test_true_cross_source_copies_become_one_policy_with_every_source_id(first: str, second: str) -> None:
    policy = one([programme("bizinfo", "P1", first), programme("kstartup", "77", second)])
    assert policy.policy_id == "bizinfo:P1"  # the source priority picks the survivor
    assert policy.source_ids == ["bizinfo:P1", "kstartup:77"]
    (merge,) = policy.merges
    assert (merge.member, merge.into) == ("kstartup:77", "bizinfo:P1")
    assert 0 < merge.title_score <= 100
    assert {"title", "organization", "period"} <= set(merge.matched)
    assert "kstartup:77 merged into bizinfo:P1" in merge.message


def test_a_merged_policy_keeps_the_union_of_region_codes() -> None:
    policy = one(
        [programme("bizinfo", "1", region_codes=[]), programme("kstartup", "2", region_codes=["41"])]
    )
    assert policy.region_codes == ["41"]
    assert policy.source_ids == ["bizinfo:1", "kstartup:2"]


def test_a_record_joins_a_stored_policy_that_keeps_its_id() -> None:
    stored = programme("kstartup", "5")
    policy = one([programme("bizinfo", "9", "2026년도 청년창업 지원사업 모집공고")], stored=[stored])
    assert policy.policy_id == "kstartup:5"
    assert policy.source_ids == ["bizinfo:9", "kstartup:5"]


def test_the_preview_serialises_for_the_cli() -> None:
    result = preview([programme("bizinfo", "1"), programme("kstartup", "2")], today=TODAY)
    data = result.as_dict()
    assert data["today"] == "2026-11-20"
    (policy,) = data["policies"]
    assert policy["source_ids"] == ["bizinfo:1", "kstartup:2"]
    assert set(policy) >= {
        "completeness",
        "accuracy",
        "consistency",
        "timeliness",
        "total",
        "reasons",
        "merges",
    }
    assert result.policy("kstartup:2").policy_id == "bizinfo:1"


def test_a_programme_one_source_closed_is_closed_whichever_copy_survives() -> None:
    policy = one([programme("bizinfo", "1"), programme("kstartup", "2", closed_by_source=True)])
    assert policy.policy_id == "bizinfo:1" and policy.status == "archived"
    assert policy.reason_codes == ["closed_by_source"]
    assert policy.status_reason == "kstartup marks applications as closed"
