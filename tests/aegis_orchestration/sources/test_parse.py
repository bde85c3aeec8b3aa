"""parse(): every envelope and error shape of docs/sources.md §1–§4, offline."""

from __future__ import annotations

import json
from datetime import date

import pytest

from aegis_orchestration.sources import SourceError, parse
from aegis_orchestration.sources.replay import portal_error_xml

ITEM = {
    "pblancId": "PBLN_000000000126191",
    "pblancNm": "[서울ㆍ인천ㆍ경기] 2026년 수출바우처 모집 공고  ",
    "jrsdInsttNm": "중소벤처기업부",
    "excInsttNm": "직접수행",
    "pldirSportRealmLclasCodeNm": "수출",
    "trgetNm": "중소기업,소상공인",
    "reqstBeginEndDe": "2026-03-02 ~ 예산 소진시까지",
    "bsnsSumryCn": "&lt;p&gt;R&amp;amp;D 지원&lt;/p&gt;\r\n",
    "hashtags": "수출,부산",
    "pblancUrl": "https://www.bizinfo.go.kr/web/view.do?pblancId=126191",
    "fileNm": "a.hwp@b.pdf",
    "flpthNm": "/cmm/fms/a.do",
    "totCnt": "85",
    "inqireCo": "12",
}


def body(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    "doc",
    [
        {"jsonArray": [ITEM]},
        {"jsonArray": {"title": "t", "item": [ITEM]}},
        {"jsonArray": [{"title": "t", "item": [ITEM]}]},
        {"jsonArray": {"title": "t", "item": ITEM}},
        {"jsonArray": [{"title": "t", "item": ITEM}]},
    ],
    ids=["list", "object-with-items", "list-of-groups", "single-item", "group-single-item"],
)
def test_bizinfo_every_envelope(doc: object) -> None:
    page = parse("bizinfo", body(doc))
    assert page.total_count == 85
    [record] = page.records
    assert record.source_id == "PBLN_000000000126191"  # never the URL's short id
    assert record.title == "2026년 수출바우처 모집 공고"
    assert record.region_codes == ["11", "26", "28", "41"]  # title prefix + hashtag
    assert record.summary == "R&D 지원"
    assert record.executing_organization == "중소벤처기업부"  # 직접수행 → the 소관기관 itself
    assert record.period_open_ended and record.period_end is None
    assert [(a.name, a.url) for a in record.attachments] == [
        ("a.hwp", "https://www.bizinfo.go.kr/cmm/fms/a.do"),
        ("b.pdf", None),
    ]
    assert record.target_groups == ["중소기업", "소상공인"]
    assert record.raw["inqireCo"] == "12"


@pytest.mark.parametrize("message", ["인증키를 입력해주세요.", "존재하지 않는 인증키 입니다."])
def test_bizinfo_req_err_is_a_bad_key_not_an_empty_page(message: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse("bizinfo", body({"reqErr": message}))
    assert caught.value.code == "DP_1005"
    assert caught.value.details["upstream_message"] == message


def test_bizinfo_empty_page_and_bad_items() -> None:
    assert parse("bizinfo", body({"jsonArray": []})).item_count == 0
    page = parse(
        "bizinfo",
        body(
            {
                "jsonArray": [
                    ITEM,
                    {"pblancNm": "no id"},
                    "junk",
                    {**ITEM, "pblancId": "X", "reqstBeginEndDe": "2026-02-30 ~ 2026-03-01"},
                ]
            }
        ),
    )
    assert len(page.records) == 1
    assert [(r.source_id, r.code) for r in page.rejected] == [
        (None, "DP_2005"),
        (None, "DP_1004"),
        ("X", "DP_2004"),
    ]


def test_bizinfo_rss_form_shares_the_id() -> None:
    rss = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>[부산] 공고</title><link>https://www.bizinfo.go.kr/x?pblancId=1</link><seq>126191</seq>"
        "<author>부산광역시</author><description><![CDATA[<p>내용</p>]]></description><lcategory>금융</lcategory>"
        "<pubDate>2026-03-01 10:00:00</pubDate><reqstDt>20260301 ~ 20260331</reqstDt></item></channel></rss>"
    )
    [record] = parse("bizinfo", rss.encode()).records
    assert record.source_id == "PBLN_000000000126191"
    assert record.region_codes == ["26"] and record.category == "금융" and record.summary == "내용"


def test_bizinfo_portal_mirror_envelope() -> None:
    doc = {
        "response": {
            "header": {"resultCode": "00", "resultMsg": "NORMAL SERVICE."},
            "body": {"items": {"item": ITEM}, "totalCount": 1, "pageNo": 1},
        }
    }
    page = parse("bizinfo", body(doc))
    assert [r.source_id for r in page.records] == ["PBLN_000000000126191"] and page.page == 1


KS_ITEM = {
    "id": 3,
    "pbanc_sn": 175123,
    "biz_pbanc_nm": "2026 R&amp;D 창업 &#40;재공고&#41;\r\n",
    "pbanc_ntrp_nm": "창업진흥원",
    "supt_biz_clsfc": "사업화",
    "supt_regin": "전남광주",
    "pbanc_rcpt_bgng_dt": "20260301",
    "pbanc_rcpt_end_dt": "20260331",
    "aply_trgt": "대학생,일반인",
    "biz_enyy": "예비창업자ㆍ1년미만",
    "biz_trgt_age": None,
    "sprv_inst": "공공기관",
    "detl_pg_url": "https://www.k-startup.go.kr/web/view.do?schM=view&amp;pbancSn=175123",
    "biz_gdnc_url": "www.k-startup.go.kr/guide",
    "aply_mthd_etc_istc": '<a onClick="x()">방문</a>',
    "rcrt_prgs_yn": "Y",
}


def test_kstartup_json() -> None:
    doc = {
        "currentCount": 1,
        "data": [KS_ITEM],
        "matchCount": 7,
        "page": 2,
        "perPage": 1,
        "totalCount": 28944,
    }
    page = parse("kstartup", body(doc))
    assert page.total_count == 7 and page.page == 2  # filtered: page with matchCount
    [record] = page.records
    assert record.source_id == "175123"  # pbanc_sn, not the row number id
    assert record.title == "2026 R&D 창업 (재공고)"
    assert record.region_codes == ["29", "46"]
    assert record.url == "https://www.k-startup.go.kr/web/view.do?schM=view&pbancSn=175123"
    assert record.target_groups == ["대학생", "일반인", "예비창업자", "1년미만"]
    assert str(record.period_start) == "2026-03-01" and str(record.period_end) == "2026-03-31"


@pytest.mark.parametrize(
    ("end", "closed", "note"),
    [(None, "Y", "종료일 미기재"), ("", "Y", "종료일 미기재"), ("예산 소진시까지", "N", "예산 소진시까지")],
)
def test_kstartup_start_without_end_is_open_ended_and_its_flag_is_kept(
    end: str | None, closed: str, note: str
) -> None:
    item = KS_ITEM | {"pbanc_rcpt_end_dt": end, "rcrt_prgs_yn": closed}
    [record] = parse("kstartup", body({"currentCount": 1, "data": [item], "page": 1})).records
    assert (record.period_start, record.period_end) == (date(2026, 3, 1), None)
    assert record.period_open_ended and record.period_note == note
    assert record.closed_by_source is (closed == "N")


def test_kstartup_col_xml_form() -> None:
    cols = "".join(
        f'<col name="{k}">{"" if v is None else v}</col>' for k, v in KS_ITEM.items() if k != "biz_pbanc_nm"
    )
    xml = (
        f'<results><currentCount>1</currentCount><data><item>{cols}<col name="biz_pbanc_nm">제목</col>'
        "</item></data><matchCount>1</matchCount><page>1</page></results>"
    )
    [record] = parse("kstartup", xml.encode()).records
    assert record.source_id == "175123" and record.title == "제목"


def test_kstartup_negative_code_is_an_error() -> None:
    with pytest.raises(SourceError) as caught:
        parse("kstartup", body({"code": -4, "msg": "등록되지 않은 인증키 입니다."}))
    assert caught.value.code == "DP_1005"


MSS_ITEM = (
    "<item><itemId>1050003</itemId><title><![CDATA[[강원] 스마트공장 공고]]></title>"
    "<dataContents><![CDATA[<p>본문&nbsp;내용</p>]]></dataContents>"
    "<writerPosition>창업정책과</writerPosition><viewUrl>https://www.mss.go.kr/v.do?a=1&amp;b=2</viewUrl>"
    "<fileName>a.hwp</fileName><fileUrl>https://www.mss.go.kr/a</fileUrl>{more}</item>"
)


def mss_body(items: str, code: str = "00", total: int = 1) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><response><header><resultCode>' + code + "</resultCode>"
        "<resultMsg>NORMAL_CODE</resultMsg></header><body><numOfRows>10</numOfRows><pageNo>1</pageNo>"
        f"<totalCount>{total}</totalCount><items>{items}</items></body></response>"
    ).encode()


def test_mss_xml_single_and_repeated_files() -> None:
    one = parse("mss", mss_body(MSS_ITEM.format(more="")))
    [record] = one.records
    assert (
        record.source_id == "1050003" and record.title == "스마트공장 공고" and record.region_codes == ["51"]
    )
    assert record.summary == "본문 내용" and record.period_start is None and not record.period_open_ended
    assert record.url == "https://www.mss.go.kr/v.do?a=1&b=2"
    two = parse(
        "mss",
        mss_body(
            MSS_ITEM.format(more="<fileName>b.zip</fileName><fileUrl>https://www.mss.go.kr/b</fileUrl>")
        ),
    )
    assert [a.name for a in two.records[0].attachments] == ["a.hwp", "b.zip"]
    assert two.records[0].raw["fileName"] == ["a.hwp", "b.zip"]


def test_mss_empty_items_and_nodata() -> None:
    assert parse("mss", mss_body("", total=0)).item_count == 0
    assert parse("mss", mss_body("", code="03", total=0)).item_count == 0


def test_mss_json_when_json_is_answered() -> None:
    doc = {
        "response": {
            "header": {"resultCode": "00", "resultMsg": "NORMAL_CODE"},
            "body": {"items": {"item": {"itemId": "9", "title": "제목"}}, "totalCount": 1, "pageNo": 1},
        }
    }
    assert [r.source_id for r in parse("mss", body(doc)).records] == ["9"]


@pytest.mark.parametrize(
    ("code", "with_code", "expected"),
    [
        ("30", True, "DP_1005"),
        ("30", False, "DP_1005"),
        ("22", True, "DP_1002"),
        ("22", False, "DP_1002"),
        ("12", True, "DP_1006"),
        ("10", True, "DP_1008"),
        ("99", True, "DP_1001"),
        ("05", True, "DP_1001"),
    ],
)
@pytest.mark.parametrize("source", ["kstartup", "mss", "bizinfo"])
def test_portal_gateway_xml_errors(source: str, code: str, with_code: bool, expected: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse(source, portal_error_xml(code, with_code=with_code).body)
    assert caught.value.code == expected
    assert caught.value.details["upstream_code"] == code


def test_portal_json_header_error_and_plain_unauthorized() -> None:
    with pytest.raises(SourceError) as caught:
        parse("mss", body({"response": {"header": {"resultCode": "07", "resultMsg": "입력범위값 초과"}}}))
    assert caught.value.code == "DP_1008"
    with pytest.raises(SourceError) as caught:
        parse("kstartup", b"Unauthorized")
    assert caught.value.code == "DP_1005"


@pytest.mark.parametrize("source", ["bizinfo", "kstartup", "mss", "rss"])
def test_truncated_bodies_are_dp_1004(source: str) -> None:
    from aegis_orchestration.sources.snapshot import snapshot_files

    whole = snapshot_files(source)[0].read_bytes()
    with pytest.raises(SourceError) as caught:
        parse(source, whole[: len(whole) // 2])
    assert caught.value.code == "DP_1004"


def test_euc_kr_body_without_declared_charset() -> None:
    xml = mss_body(MSS_ITEM.format(more="")).decode().replace('encoding="UTF-8"', 'encoding="EUC-KR"')
    [record] = parse("mss", xml.encode("cp949"), "text/xml").records
    assert record.title == "스마트공장 공고"


def test_unknown_source_and_empty_body() -> None:
    with pytest.raises(SourceError) as caught:
        parse("nope", b"{}")
    assert caught.value.code == "DP_1006"
    with pytest.raises(SourceError) as caught:
        parse("bizinfo", b"   ")
    assert caught.value.code == "DP_1004"
