"""region_codes: long, short, merged and bracketed names, and 전국."""

from __future__ import annotations

import pytest

from aegis_shared.text import ALL_REGION_CODES, region_codes, split_region_prefix
from aegis_shared.text.regions import is_region_label


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("서울특별시", ["11"]),
        ("서울", ["11"]),
        ("전남광주", ["29", "46"]),
        ("서울,경기", ["11", "41"]),
        ("대구ㆍ경북", ["27", "47"]),
        ("강원·충북", ["43", "51"]),
        ("강원도", ["51"]),
        ("전라북도", ["52"]),
        ("전북특별자치도", ["52"]),
        ("세종특별자치시", ["36"]),
        ("제주특별자치도", ["50"]),
        ("금융,창업", []),
        (None, []),
    ],
)
def test_names_map_to_current_codes(text: str | None, codes: list[str]) -> None:
    assert region_codes(text) == codes


def test_nationwide_is_every_region() -> None:
    assert region_codes("전국") == list(ALL_REGION_CODES)
    assert len(ALL_REGION_CODES) == 17
    assert "42" not in ALL_REGION_CODES and "45" not in ALL_REGION_CODES


def test_title_prefix_is_split_off() -> None:
    assert split_region_prefix("[서울ㆍ인천ㆍ경기] 2026년 창업  \t") == (["11", "28", "41"], "2026년 창업")
    assert split_region_prefix("[공고] 2026년 창업") == ([], "[공고] 2026년 창업")


@pytest.mark.parametrize(
    "label", ["서울", "서울ㆍ인천ㆍ경기", "전국", "부산 지역", "대구·경북", "전남광주", "서울특별시"]
)
def test_a_label_naming_only_regions_is_a_region_label(label: str) -> None:
    assert is_region_label(label)


@pytest.mark.parametrize("label", ["수원시", "중기부", "공고", "서울 강남구", "2026년", ""])
def test_a_label_naming_anything_else_is_not(label: str) -> None:
    assert not is_region_label(label)
