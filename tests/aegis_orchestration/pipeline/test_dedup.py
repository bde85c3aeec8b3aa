"""Cross-source duplicates collapse into one policy that keeps every source id."""

from __future__ import annotations

from datetime import UTC, date, datetime

from aegis_orchestration.pipeline.dedup import StoredPolicy, deduplicate, normalise_title
from aegis_shared.models import Announcement


def ann(
    source: str,
    source_id: str,
    title: str,
    org: str = "창업진흥원",
    end: date | None = date(2026, 12, 31),
    **extra: object,
) -> Announcement:
    return Announcement(
        source=source, source_id=source_id, title=title, organization=org, period_end=end, **extra
    )


def test_title_normalisation_drops_region_prefix_spacing_and_punctuation() -> None:
    assert normalise_title("[서울ㆍ인천ㆍ경기] 2026년 예비창업패키지 (일반분야)") == normalise_title(
        "2026년 예비창업패키지 일반분야 "
    )


def test_same_programme_from_three_sources_becomes_one_policy() -> None:
    groups = deduplicate(
        [
            ann("kstartup", "176001", "2026년 예비창업패키지 일반분야 모집"),
            ann(
                "bizinfo",
                "PBLN_000000000126191",
                "[전국] 2026년 예비창업패키지 일반분야 모집",
                summary="요약",
            ),
            ann("mss", "9001", "2026년 예비창업패키지 일반분야 모집 "),
            ann("bizinfo", "PBLN_000000000126192", "2026년 초기창업패키지 모집"),
        ]
    )
    assert len(groups) == 2
    merged = next(g for g in groups if len(g.members) == 3)
    assert merged.policy_id == "bizinfo:PBLN_000000000126191"  # bizinfo outranks the others
    assert merged.source_ids == ["bizinfo:PBLN_000000000126191", "kstartup:176001", "mss:9001"]
    assert {a.policy_id for a in merged.absorbed} == {"kstartup:176001", "mss:9001"}


def test_near_duplicate_titles_match_but_different_programmes_do_not() -> None:
    groups = deduplicate(
        [
            ann("bizinfo", "1", "2026년 소상공인 스마트상점 기술보급사업 참여기업 모집 공고"),
            ann("kstartup", "2", "2026년 소상공인 스마트 상점 기술보급 사업 참여기업 모집공고"),
            ann("kstartup", "3", "2026년 소상공인 온라인 판로지원 사업 모집 공고"),
        ]
    )
    assert sorted(len(g.members) for g in groups) == [1, 2]


def test_different_organisation_or_period_keeps_records_apart() -> None:
    groups = deduplicate(
        [
            ann("bizinfo", "1", "청년창업 지원사업", org="서울특별시"),
            ann("kstartup", "2", "청년창업 지원사업", org="부산광역시"),
            ann("mss", "3", "청년창업 지원사업", org="서울특별시", end=date(2026, 6, 30)),
        ]
    )
    assert len(groups) == 3


def test_output_is_deterministic_whatever_the_input_order() -> None:
    items = [
        ann("kstartup", "2", "같은 사업"),
        ann("bizinfo", "1", "같은 사업"),
        ann("web", "9", "다른 사업"),
    ]
    first = [(g.policy_id, g.source_ids) for g in deduplicate(items)]
    second = [(g.policy_id, g.source_ids) for g in deduplicate(list(reversed(items)))]
    assert first == second


def stored(item: Announcement, status: str = "active", source_ids: tuple[str, ...] = ()) -> StoredPolicy:
    return StoredPolicy(record=item, source_ids=source_ids or (item.policy_id,), status=status)


DAY1 = datetime(2026, 11, 20, tzinfo=UTC)
DAY2 = datetime(2026, 11, 21, tzinfo=UTC)


def test_a_later_days_duplicate_joins_the_stored_policy_which_keeps_its_id() -> None:
    existing = stored(
        ann("kstartup", "176001", "2026년 예비창업패키지 일반분야 모집", collected_at=DAY1),
        source_ids=("kstartup:176001", "mss:9001"),
    )
    # bizinfo outranks kstartup within a day, but an existing policy is never replaced by a newcomer.
    later = ann(
        "bizinfo", "P1", "[전국] 2026년 예비창업패키지(일반분야)  모집", summary="요약", collected_at=DAY2
    )
    (candidate,) = deduplicate([later], [existing])
    assert candidate.policy_id == "kstartup:176001"
    assert candidate.survivor is existing.record
    assert candidate.source_ids == ["bizinfo:P1", "kstartup:176001", "mss:9001"]
    assert [a.policy_id for a in candidate.absorbed] == ["bizinfo:P1"]
    assert candidate.collected_at == DAY2  # advances the guard past the older day


def test_a_stored_policy_is_represented_by_its_own_fresh_record() -> None:
    existing = stored(
        ann("bizinfo", "P1", "청년창업 지원사업", collected_at=DAY1), source_ids=("bizinfo:P1", "web:7")
    )
    fresh = ann("bizinfo", "P1", "청년창업 지원사업", summary="새 요약", collected_at=DAY2)
    (candidate,) = deduplicate([fresh], [existing])
    assert candidate.survivor is fresh
    assert candidate.source_ids == ["bizinfo:P1", "web:7"]  # stored source ids are never dropped
    assert candidate.absorbed == []


def test_different_programme_and_untouched_stored_policies_stay_apart() -> None:
    existing = [
        stored(ann("bizinfo", "P1", "청년창업 지원사업")),
        stored(ann("bizinfo", "P2", "수출바우처 사업")),
    ]
    (candidate,) = deduplicate([ann("kstartup", "9", "스마트공장 구축 지원")], existing)
    assert candidate.policy_id == "kstartup:9" and candidate.stored == []
    assert candidate.source_ids == ["kstartup:9"]


def test_an_active_stored_policy_leads_and_a_duplicate_stored_row_is_absorbed() -> None:
    active = stored(ann("kstartup", "5", "청년창업 지원사업"), status="active")
    rejected = stored(
        ann("bizinfo", "P1", "청년창업 지원사업"), status="rejected", source_ids=("bizinfo:P1", "rss:3")
    )
    (candidate,) = deduplicate([ann("bizinfo", "P1", "청년창업 지원사업")], [rejected, active])
    assert candidate.policy_id == "kstartup:5"
    assert candidate.source_ids == ["bizinfo:P1", "kstartup:5", "rss:3"]
    assert [a.policy_id for a in candidate.absorbed] == ["bizinfo:P1"]
