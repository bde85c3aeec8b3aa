"""Industries a programme addresses, inferred from its title and summary (the graph's Industry nodes).

Sources carry a support *field* (금융, 기술, 창업…) but no industry, while recommendation needs
both: a 스마트공장 programme is for manufacturers whatever its field. Keywords are matched on
plain text; a programme may belong to several industries or to none.

The keyword map is part of how the graph store *derives* its documents, so its digest is part of
the graph's fingerprint: changing the map makes every graph document stale, and the next sync
rewrites the Industry edges.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

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

# Distinct texts remembered per classifier: summaries repeat across many programmes.
_CACHE_SIZE = 65_536


def _pattern(word: str) -> str:
    # Latin acronyms (AI, SW, ICT) must stand alone: "AI" inside "MAIN" or "TRAINING" is not AI.
    return rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])" if word.isascii() else re.escape(word)


class IndustryClassifier:
    """Keyword map -> industries of a text; ``digest`` identifies the map for fingerprints."""

    def __init__(self, keywords: Mapping[str, Sequence[str]]) -> None:
        if isinstance(keywords, str) or not all(
            words and not isinstance(words, str) for words in keywords.values()
        ):
            raise ValueError("keywords must map each industry to a non-empty sequence of words")
        self.keywords = {name: tuple(words) for name, words in keywords.items()}
        self._names = tuple(self.keywords)
        self._patterns = tuple(re.compile("|".join(map(_pattern, words))) for words in self.keywords.values())
        canonical = json.dumps(self.keywords, ensure_ascii=False, separators=(",", ":"))
        self.digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        self._in_text = lru_cache(maxsize=_CACHE_SIZE)(self._match)

    def _match(self, text: str) -> frozenset[int]:
        return frozenset(i for i, pattern in enumerate(self._patterns) if pattern.search(text))

    def __call__(self, *texts: str | None) -> tuple[str, ...]:
        """Industries whose keywords occur in any of ``texts``, in the map's order."""
        # Each text on its own (no keyword spans two texts), so each text's answer is cached.
        found: frozenset[int] = frozenset().union(*(self._in_text(text) for text in texts if text))
        return tuple(self._names[i] for i in sorted(found))


DEFAULT_CLASSIFIER = IndustryClassifier(INDUSTRY_KEYWORDS)


def industries_for(*texts: str | None) -> tuple[str, ...]:
    """Industries of ``texts`` under the default keyword map."""
    return DEFAULT_CLASSIFIER(*texts)
