"""Full validation rejects each bad input with its own code and cleans what it keeps."""

from __future__ import annotations

from datetime import date

import pytest

from aegis_orchestration.pipeline.validation import ValidationRejection, basic_check, validate
from aegis_shared.errors import is_registered
from aegis_shared.models import Announcement


def make(**fields: object) -> Announcement:
    base: dict[str, object] = {
        "source": "bizinfo",
        "source_id": "PBLN_1",
        "title": "2026년 창업 도약 패키지",
        "organization": "중소벤처기업부",
        "url": "https://www.bizinfo.go.kr/x?a=1&amp;b=2",
    }
    base.update(fields)
    return Announcement.model_validate(base)


@pytest.mark.parametrize(
    ("fields", "code", "fragment"),
    [
        ({"title": "   "}, "DP_2005", "title is empty"),
        ({"source_id": ""}, "DP_2005", "source_id"),
        ({"title": "<p> </p>"}, "DP_2005", "markup"),
        ({"title": "가" * 501}, "DP_2006", "title has 501"),
        ({"summary": "나" * 300_000}, "DP_2006", "summary"),
        ({"raw": {"blob": "x" * 300_000}}, "DP_2008", "bytes"),
        ({"url": "javascript:alert(1)"}, "DP_2007", "not an http"),
        ({"period_start": date(2026, 9, 17), "period_end": date(2026, 9, 3)}, "DP_2004", "before it starts"),
        ({"period_end": date(2226, 1, 1)}, "DP_2004", "outside"),
        ({"region_codes": ["서울"]}, "DP_2001", "2-digit"),
    ],
)
def test_each_bad_input_is_rejected_with_its_code(
    fields: dict[str, object], code: str, fragment: str
) -> None:
    outcome = validate(make(**fields))
    assert isinstance(outcome, ValidationRejection)
    assert (outcome.code, outcome.source, outcome.source_id) == (
        code,
        "bizinfo",
        fields.get("source_id", "PBLN_1"),
    )
    assert fragment in outcome.reason
    assert is_registered(outcome.code)


def test_valid_record_comes_back_clean_keeping_its_identity_hash() -> None:
    raw = make(
        summary="<p>지원&nbsp;내용 &amp; 대상</p><script>alert(1)</script>", url="www.k-startup.go.kr/a"
    )
    outcome = validate(raw)
    assert isinstance(outcome, Announcement)
    assert outcome.summary == "지원 내용 & 대상"
    assert outcome.url == "https://www.k-startup.go.kr/a"
    # The collected hash is the identity shared with collection and the hot path.
    assert outcome.content_hash == raw.content_hash


def test_entity_escaped_url_is_unescaped() -> None:
    outcome = validate(make())
    assert isinstance(outcome, Announcement)
    assert outcome.url == "https://www.bizinfo.go.kr/x?a=1&b=2"


def test_basic_check_passes_good_records_untouched() -> None:
    assert basic_check(make()) is None
