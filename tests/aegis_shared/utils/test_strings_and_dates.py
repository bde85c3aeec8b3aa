"""Korean string normalisation (shared with dedup) and dates in Asia/Seoul."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from aegis_orchestration.pipeline import dedup, lifecycle
from aegis_shared.utils import (
    SEOUL,
    d_day,
    days_left,
    fold_width,
    normalise_spacing,
    seoul_day_bounds,
    seoul_today,
    squeeze,
    strip_leading_labels,
    to_seoul,
)


def test_full_width_forms_and_ideographic_spaces_are_folded() -> None:
    assert fold_width("［서울］　２０２６년 ＡＩ 바우처") == "[서울] 2026년 AI 바우처"
    assert fold_width("㈜에이치랩") == "(주)에이치랩"
    decomposed = unicodedata.normalize("NFD", "공고문.hwp")  # as macOS names files
    assert decomposed != "공고문.hwp" and fold_width(decomposed) == "공고문.hwp"


def test_spacing_is_normalised() -> None:
    assert (
        normalise_spacing("  2026년\t청년\u3000창업\xa0사관학교\r\n모집  ")
        == "2026년 청년 창업 사관학교 모집"
    )


def test_leading_bracket_labels_are_dropped_and_the_rest_kept() -> None:
    assert (
        strip_leading_labels("[서울] (재공고) 【중기부】 창업도약패키지 (일반형)")
        == "창업도약패키지 (일반형)"
    )
    assert strip_leading_labels(fold_width("［경기］ 스마트공장 구축")) == "스마트공장 구축"
    assert strip_leading_labels("창업도약패키지") == "창업도약패키지"


def test_squeeze_makes_spacing_and_punctuation_irrelevant() -> None:
    assert squeeze("청년 창업-지원 사업") == squeeze("청년창업·지원사업") == "청년창업지원사업"
    assert squeeze("AI 바우처") == "ai바우처"


def test_dedup_titles_go_through_the_shared_helpers() -> None:
    # Dedup's keys are built from these helpers, so a title typed with full-width brackets and an
    # ideographic space matches the plain one, and a different programme still does not.
    plain = "[서울] 2026년도 청년창업사관학교 모집 공고"
    typed = "［서울］　２０２６년 청년 창업사관학교 모집공고"
    assert dedup.title_key(plain) == dedup.title_key(typed) == "2026청년창업사관학교"
    assert dedup.title_key("2026년 스마트공방 지원") != dedup.title_key("2026년 스마트상점 지원")
    assert (
        dedup.normalise_org("중소벤처기업부 ")
        == dedup.normalise_org("중소 벤처기업부")
        == squeeze("중소벤처기업부")
    )


def test_seoul_day_is_not_the_utc_day() -> None:
    # 2026-03-31 16:00 UTC is already 1 April in Seoul: a deadline of 31 March has passed there.
    late_utc = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert seoul_today(late_utc) == date(2026, 4, 1)
    assert seoul_today(datetime(2026, 3, 31, 14, 59, tzinfo=UTC)) == date(2026, 3, 31)
    assert lifecycle.seoul_today is seoul_today  # the lifecycle rule asks the shared helper


def test_to_seoul_reads_naive_times_as_seoul_wall_clock() -> None:
    assert to_seoul(datetime(2026, 3, 31, 18, 0)) == datetime(2026, 3, 31, 18, 0, tzinfo=SEOUL)
    new_york = timezone(timedelta(hours=-5))
    assert to_seoul(datetime(2026, 3, 31, 5, 0, tzinfo=new_york)).hour == 19


def test_a_seoul_day_as_utc_bounds() -> None:
    start, end = seoul_day_bounds(date(2026, 3, 31))
    assert start == datetime(2026, 3, 30, 15, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)


@pytest.mark.parametrize(
    ("deadline", "label", "left"),
    [(date(2026, 4, 3), "D-3", 3), (date(2026, 3, 31), "D-DAY", 0), (date(2026, 3, 29), "D+2", -2)],
)
def test_d_day_labels(deadline: date, label: str, left: int) -> None:
    today = date(2026, 3, 31)
    assert d_day(deadline, today) == label
    assert days_left(deadline, today) == left
