"""HTML → plain text and charset detection for EUC-KR/CP949 bodies."""

from __future__ import annotations

import pytest

from aegis_shared.text import CharsetError, charset_from_content_type, decode_body, html_to_text


def test_html_is_stripped_and_entities_unescaped() -> None:
    assert html_to_text("<p>R&amp;D 지원</p>\r\n<p>둘째&nbsp;줄</p>") == "R&D 지원 둘째 줄"


def test_doubly_escaped_html_and_scripts() -> None:
    text = '&lt;p&gt;R&amp;amp;D &#40;지원&#41;&lt;/p&gt;<script>alert(1)</script><a onClick="x()">방문</a>'
    assert html_to_text(text) == "R&D (지원) 방문"


def test_markup_only_is_none() -> None:
    assert html_to_text("<p> </p>") is None
    assert html_to_text(None) is None


def test_declared_euc_kr_is_decoded_as_cp949() -> None:
    body = "똠방각하 공고".encode("cp949")  # 똠 exists only in CP949, not strict EUC-KR
    assert decode_body(body, "text/html; charset=EUC-KR") == "똠방각하 공고"


def test_undeclared_euc_kr_is_detected() -> None:
    body = '<?xml version="1.0" encoding="EUC-KR"?><a>지원사업 공고</a>'.encode("cp949")
    assert decode_body(body, None).endswith("<a>지원사업 공고</a>")
    assert decode_body("<p>공고</p>".encode("cp949"), "text/html") == "<p>공고</p>"


def test_wrong_declaration_falls_back() -> None:
    assert decode_body("공고".encode("cp949"), "text/plain; charset=utf-8") == "공고"
    assert charset_from_content_type("application/json;charset=UTF-8") == "UTF-8"


def test_undecodable_raises_dp_1007() -> None:
    with pytest.raises(CharsetError) as caught:
        decode_body(b"\x81\xff\xfe\x80\x81\xff" * 4, "text/plain; charset=utf-8")
    assert caught.value.code == "DP_1007"


def test_utf16_with_bom_is_detected() -> None:
    assert decode_body("지원사업 공고 안내".encode("utf-16"), None) == "지원사업 공고 안내"
