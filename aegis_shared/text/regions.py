"""Korean 시도 (province-level) region names → 2-digit 법정동 codes.

Sources never publish codes: they mix long forms (서울특별시), short forms (서울), merged forms
(전남광주), bracketed title prefixes (``[서울ㆍ인천ㆍ경기]``) and ``전국``. Everything maps to the
current codes; 강원 and 전북 use their 특별자치도 codes (51, 52), not the retired 42 and 45.
"""

from __future__ import annotations

import re
from types import MappingProxyType

SIDO_NAMES: MappingProxyType[str, str] = MappingProxyType(
    {
        "11": "서울",
        "26": "부산",
        "27": "대구",
        "28": "인천",
        "29": "광주",
        "30": "대전",
        "31": "울산",
        "36": "세종",
        "41": "경기",
        "43": "충북",
        "44": "충남",
        "46": "전남",
        "47": "경북",
        "48": "경남",
        "50": "제주",
        "51": "강원",
        "52": "전북",
    }
)
"""Every current 시도 code with its short name."""

ALL_REGION_CODES: tuple[str, ...] = tuple(sorted(SIDO_NAMES))

_LONG_NAMES: dict[str, str] = {
    "서울특별시": "11",
    "부산광역시": "26",
    "대구광역시": "27",
    "인천광역시": "28",
    "광주광역시": "29",
    "대전광역시": "30",
    "울산광역시": "31",
    "세종특별자치시": "36",
    "경기도": "41",
    "충청북도": "43",
    "충청남도": "44",
    "전라남도": "46",
    "경상북도": "47",
    "경상남도": "48",
    "제주특별자치도": "50",
    "제주도": "50",
    "강원특별자치도": "51",
    "강원도": "51",
    "전북특별자치도": "52",
    "전라북도": "52",
}

# Names that stand for several 시도 at once.
_GROUP_NAMES: dict[str, tuple[str, ...]] = {
    "전국": ALL_REGION_CODES,
    "수도권": ("11", "28", "41"),
}

# Longest names first, so 서울특별시 wins over 서울 and 전남광주 splits into 전남 + 광주.
_NAME_TO_CODES: dict[str, tuple[str, ...]] = {
    **{name: (code,) for name, code in _LONG_NAMES.items()},
    **{name: (code,) for code, name in SIDO_NAMES.items()},
    **_GROUP_NAMES,
}
_NAME_PATTERN = re.compile("|".join(sorted(map(re.escape, _NAME_TO_CODES), key=len, reverse=True)))

# A leading bracketed label such as "[서울ㆍ인천ㆍ경기]" or "(전국)" in a title.
_PREFIX_PATTERN = re.compile(r"^\s*[\[(【〔]\s*([^\])】〕]{1,40}?)\s*[\])】〕]\s*")


def region_codes(text: str | None) -> list[str]:
    """Return the sorted, unique 시도 codes named in ``text`` (a region field, tag list or prefix).

    Meant for region-ish fields, not free prose: a short name inside an unrelated word would
    match too.
    """
    if not text:
        return []
    codes: set[str] = set()
    for match in _NAME_PATTERN.finditer(text):
        codes.update(_NAME_TO_CODES[match.group(0)])
    return sorted(codes)


_LABEL_FILLER = re.compile(r"[\sㆍ·・,/&+]|지역|및")


def is_region_label(text: str) -> bool:
    """Whether ``text`` names regions and nothing else: ``서울ㆍ인천ㆍ경기``, ``전국``, ``부산 지역``.

    ``수원시`` or ``중기부`` are not: a label naming anything else says which programme this is.
    """
    return bool(region_codes(text)) and not _LABEL_FILLER.sub("", _NAME_PATTERN.sub("", text))


def split_region_prefix(title: str) -> tuple[list[str], str]:
    """Split a leading region label off a title: ``"[서울ㆍ경기] X"`` → ``(["11", "41"], "X")``.

    A bracketed prefix that names no region (e.g. ``[공고]``) is left in the title.
    """
    match = _PREFIX_PATTERN.match(title)
    if match:
        codes = region_codes(match.group(1))
        if codes:
            return codes, title[match.end() :].strip()
    return [], title.strip()
