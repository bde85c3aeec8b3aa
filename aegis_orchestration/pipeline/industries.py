"""Industries a programme addresses, inferred from its title and summary.

Sources carry a support *field* (금융, 기술, 창업…) but no industry, while recommendation needs
both: a 스마트공장 programme is for manufacturers whatever its field. Keywords are matched on
plain text; a programme may belong to several industries or to none.
"""

from __future__ import annotations

import re

INDUSTRY_KEYWORDS: dict[str, tuple[str, ...]] = {
    # "소재" alone would also match 소재지 (location); "재생" alone would match 도시재생.
    "제조": ("제조", "스마트공장", "뿌리산업", "소재·부품", "소부장", "장비"),
    "정보통신": ("ICT", "소프트웨어", "SW", "인공지능", "AI", "데이터", "디지털", "플랫폼", "클라우드"),
    "바이오·헬스": ("바이오", "의료", "헬스", "제약", "의약"),
    "농림수산식품": ("농업", "농식품", "농촌", "어업", "수산", "임업", "스마트팜", "식품"),
    "관광·서비스": ("관광", "숙박", "외식", "음식점", "서비스업"),
    "문화콘텐츠": ("콘텐츠", "문화", "게임", "영상", "디자인", "공연"),
    "에너지·환경": ("에너지", "탄소", "환경", "친환경", "수소", "재생에너지"),
    "유통·물류": ("유통", "물류", "전통시장", "상점", "판로", "온라인몰"),
}


def _pattern(word: str) -> str:
    # Latin acronyms (AI, SW, ICT) must stand alone: "AI" inside "MAIN" or "TRAINING" is not AI.
    return rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])" if word.isascii() else re.escape(word)


_PATTERNS = {name: re.compile("|".join(map(_pattern, words))) for name, words in INDUSTRY_KEYWORDS.items()}


def industries_for(*texts: str | None) -> tuple[str, ...]:
    """Industries whose keywords occur in any of ``texts``, in a stable order."""
    haystack = " ".join(text for text in texts if text)
    return tuple(name for name, pattern in _PATTERNS.items() if pattern.search(haystack))
