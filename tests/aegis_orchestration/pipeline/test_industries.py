"""Industry inference for the graph's Industry nodes."""

from aegis_orchestration.pipeline.industries import industries_for


def test_keywords_in_title_or_summary_name_each_industry_once() -> None:
    assert industries_for("2026년 스마트공장 보급확산 사업", "제조 중소기업의 AI 도입 지원") == (
        "제조",
        "정보통신",
    )


def test_lookalike_words_do_not_match() -> None:
    assert industries_for("본사 소재지가 서울인 기업 대상 도시재생 TRAINING 과정") == ()


def test_no_keyword_means_no_industry_and_none_is_ignored() -> None:
    assert industries_for("청년 창업 지원", None) == ()


def test_the_digest_names_the_keyword_map() -> None:
    import pytest

    from aegis_orchestration.pipeline.industries import INDUSTRY_KEYWORDS, IndustryClassifier

    default = IndustryClassifier(INDUSTRY_KEYWORDS)
    assert IndustryClassifier(dict(INDUSTRY_KEYWORDS)).digest == default.digest
    assert IndustryClassifier({**INDUSTRY_KEYWORDS, "로봇": ("로봇",)}).digest != default.digest
    with pytest.raises(ValueError):
        IndustryClassifier({"제조": "제조"})  # a bare string is not a word list
    assert IndustryClassifier({"로봇": ("로봇",)})("서비스 로봇", "로봇 도입") == ("로봇",)
