"""parse_period over every form of docs/sources.md §6."""

from __future__ import annotations

from datetime import date

import pytest

from aegis_shared.text import Period, PeriodError, parse_period

TODAY = date(2026, 5, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09-03 ~ 2026-09-17", Period(date(2026, 9, 3), date(2026, 9, 17))),
        ("20220727 ~ 20220930", Period(date(2022, 7, 27), date(2022, 9, 30))),
        ("2020.01.01 ~ 2026.12.31", Period(date(2020, 1, 1), date(2026, 12, 31))),
        ("2025. 12. 15. ~ 1. 15.", Period(date(2025, 12, 15), date(2026, 1, 15))),
        ("2026. 10. 2.(목) 09:00 ~ 10. 16.(목) 18:00 까지", Period(date(2026, 10, 2), date(2026, 10, 16))),
        ("2026-09-03 ～ 2026-09-17", Period(date(2026, 9, 3), date(2026, 9, 17))),
        ("2026.3.5~2026.3.20", Period(date(2026, 3, 5), date(2026, 3, 20))),
        (
            "2026-09-03 ~ 2026-09-17 (예산 소진 시 조기마감)",
            Period(date(2026, 9, 3), date(2026, 9, 17), False, "예산 소진 시 조기마감"),
        ),
        ("2026-03-02 ~ 예산 소진시까지", Period(date(2026, 3, 2), None, True, "예산 소진시까지")),
        ("2026-09-30 까지", Period(None, date(2026, 9, 30))),
        ("1. 15. ~ 2. 15.", Period(date(2026, 1, 15), date(2026, 2, 15))),
        # Two-digit years, as notices abbreviate them.
        ("26.03.01 ~ 26.03.31", Period(date(2026, 3, 1), date(2026, 3, 31))),
        ("'26. 3. 2. ~ '26. 4. 1.", Period(date(2026, 3, 2), date(2026, 4, 1))),
        ("25-12-15 ~ 26-01-15", Period(date(2025, 12, 15), date(2026, 1, 15))),
    ],
)
def test_dated_forms(text: str, expected: Period) -> None:
    assert parse_period(text, today=TODAY) == expected


@pytest.mark.parametrize("text", ["상시 접수", "예산 소진시까지", "세부사업별 상이", "사업별 상이"])
def test_open_ended_text_is_a_value(text: str) -> None:
    assert parse_period(text) == Period(None, None, True, text)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_blank_is_empty(text: str | None) -> None:
    assert parse_period(text) == Period()


def test_undated_note_is_kept_not_raised() -> None:
    assert parse_period("공고문 참조") == Period(note="공고문 참조")


@pytest.mark.parametrize(
    "text",
    ["2026-02-30 ~ 2026-03-10", "2026-13-01 ~ 2026-13-20", "20260431 ~ 20260501", "2026-09-17 ~ 2026-09-03"],
)
def test_impossible_dates_raise_dp_2004(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text)
    assert caught.value.code == "DP_2004"
    assert caught.value.details["text"] == text


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("2026-03-01 ~", "종료일 미기재"),
        ("2026-03-01~", "종료일 미기재"),
        ("20260301 ~", "종료일 미기재"),
        ("2026.03.01부터", "종료일 미기재"),
        ("2026년 3월 1일부터", "종료일 미기재"),
        ("2026. 3. 1.(일) 09:00 ~", "종료일 미기재"),
        ("2026-03-01 ~ 예산 소진 시까지", "예산 소진 시까지"),
        ("2026-03-01 ~ 별도 공지", "별도 공지"),
        ("2026.03.01부터 예산 소진 시까지", "예산 소진 시까지"),
        ("2026-03-01 부터", "종료일 미기재"),
        ("접수기간 : 2026-03-01 ~", "종료일 미기재"),
        ("2026-03-01 ~ 추후 공지", "추후 공지"),
    ],
)
def test_a_start_without_an_end_is_open_ended_never_a_one_day_window(text: str, note: str) -> None:
    assert parse_period(text, today=TODAY) == Period(date(2026, 3, 1), None, True, note)


@pytest.mark.parametrize(
    "text",
    ["2026-03-01 부터 2026-03-31 까지", "2026.03.01부터 2026.03.31까지", "신청기간: 2026-03-01 ~ 2026-03-31"],
)
def test_a_range_written_with_words_or_a_label_keeps_both_ends(text: str) -> None:
    assert parse_period(text, today=TODAY) == Period(date(2026, 3, 1), date(2026, 3, 31))
