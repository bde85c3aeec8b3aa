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
