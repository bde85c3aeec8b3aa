# ruff: noqa: E501 - the generator is mostly long literal markup, clearer unwrapped
"""Write the offline snapshot into a folder: ``python -m tools.snapshot.generate OUTPUT_DIR``.

Run from the repository root. Every file is written in its source's real wire format, from a
fixed seed, so regenerating gives byte-identical files
(``tests/tools/test_snapshot_generator.py`` checks it against the bundled copy). The bundled
copy, which the runtime reads with ``importlib.resources``, is this tool's output committed in
``aegis_orchestration/sources/snapshot/``; to change it, edit here and regenerate there:
``python -m tools.snapshot.generate aegis_orchestration/sources/snapshot``.

Which item carries which quirk of docs/sources.md is the table in :mod:`tools.snapshot.quirks`, not
arithmetic here; round-robin choices (themes, organisations, period forms) only vary the text.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape  # nosec B406 # escape() writes XML; nothing is parsed

from tools.snapshot.quirks import COUNTS, LAST_DAY, SHARED, SHARED_REGION, Programme, has

SEED = 20260101
# Most updates fall in the last RECENT_DAYS days, so collecting them sees most of the catalogue;
# registrations stay spread over the whole range, so a backfill of past months finds data.
RECENT_DAYS = 14
KO_WEEKDAYS = "월화수목금토일"

THEMES = (
    "창업도약패키지",
    "예비창업패키지",
    "초기창업패키지",
    "스마트공장 구축 지원",
    "수출바우처",
    "정책자금 융자",
    "소상공인 경영개선 지원",
    "R&D 기술개발",
    "청년창업사관학교",
    "글로벌 강소기업 육성",
    "디지털 전환 바우처",
    "온라인 판로 지원",
    "기술보증 특례",
    "청년 인력 채용 지원",
    "제조혁신 컨설팅",
    "지역특화 산업 육성",
    "사회적기업 육성",
    "여성기업 역량강화",
    "장애인기업 판로 지원",
    "테크브릿지 상용화",
    "탄소중립 설비 지원",
    "해외 전시회 참가 지원",
    "지식재산 바우처",
    "물류 바우처",
    "공공구매 판로 개척",
)
SUFFIXES = ("참여기업 모집 공고", "지원사업 공고", "모집 공고", "신청 안내", "(2차) 추가 모집 공고")
ORGS = (
    "중소벤처기업부",
    "산업통상자원부",
    "과학기술정보통신부",
    "고용노동부",
    "창업진흥원",
    "소상공인시장진흥공단",
    "중소벤처기업진흥공단",
    "서울특별시",
    "경기도",
    "부산광역시",
)
LCLAS = (
    ("01", "금융"),
    ("02", "기술"),
    ("03", "인력"),
    ("04", "수출"),
    ("05", "내수"),
    ("06", "창업"),
    ("07", "경영"),
    ("09", "기타"),
)
REGION_PREFIXES = ("[서울ㆍ인천ㆍ경기]", "[부산]", "[전남광주]", "[강원]", "[대구ㆍ경북]", "[전북]", "[세종]")
REGION_TAGS = (
    "서울",
    "경기",
    "부산",
    "대구",
    "인천",
    "광주",
    "대전",
    "울산",
    "세종",
    "강원",
    "충북",
    "충남",
    "전북",
    "전남",
    "경북",
    "경남",
    "제주",
)
TARGETS = ("중소기업", "소상공인", "예비창업자", "중견기업", "1인 창조기업", "사회적기업")


def period_text(rng: random.Random, start: date, end: date, index: int) -> str:
    """One of the period forms of docs/sources.md §6, chosen by position so every form appears."""
    forms = (
        lambda: f"{start:%Y-%m-%d} ~ {end:%Y-%m-%d}",
        lambda: f"{start:%Y%m%d} ~ {end:%Y%m%d}",
        lambda: f"{start:%Y.%m.%d} ~ {end:%Y.%m.%d}",
        lambda: f"{start.year}. {start.month}. {start.day}. ~ {end.month}. {end.day}.",
        lambda: (
            f"{start.year}. {start.month}. {start.day}.({KO_WEEKDAYS[start.weekday()]}) 09:00 ~ "
            f"{end.month}. {end.day}.({KO_WEEKDAYS[end.weekday()]}) 18:00 까지"
        ),
        lambda: f"{start:%Y-%m-%d} ～ {end:%Y-%m-%d}",
        lambda: f"{start:%Y-%m-%d} ~ {end:%Y-%m-%d} (예산 소진 시 조기마감)",
        lambda: "상시 접수",
        lambda: "예산 소진시까지",
        lambda: "세부사업별 상이",
        lambda: "사업별 상이",
        lambda: f"{start:%Y-%m-%d} ~ 예산 소진시까지",
    )
    return forms[index % len(forms)]()


def dates(rng: random.Random, source: str, index: int) -> tuple[date, date]:
    start = date(2026, 1, 5) + timedelta(days=rng.randrange(0, 200))
    if has(source, "december-start", index):
        start = date(2025, 12, 15)  # a year-less end rolls into 2026
    return start, start + timedelta(days=rng.randrange(10, 45))


def registered(rng: random.Random, start: date) -> date:
    """A registration day a few days before the application starts, never after LAST_DAY."""
    return min(start - timedelta(days=rng.randrange(1, 15)), LAST_DAY - timedelta(days=rng.randrange(0, 4)))


def updated(rng: random.Random, registered_on: date) -> date:
    """Most items were updated in the last RECENT_DAYS days; the rest on their registration day."""
    if rng.random() >= 0.75:
        return registered_on
    recent = LAST_DAY - timedelta(days=rng.randrange(0, RECENT_DAYS))
    if recent >= registered_on:
        return recent
    return registered_on + timedelta(days=rng.randrange(0, (LAST_DAY - registered_on).days + 1))


def bizinfo_items(rng: random.Random, count: int = COUNTS["bizinfo"]) -> list[dict[str, Any]]:
    """bizinfo JSON items with every quirk of docs/sources.md §1."""
    items: list[dict[str, Any]] = []
    days = random.Random(SEED + 100)  # nosec B311 # seeded: reproducible fixtures; own stream keeps the periods
    shared = iter(SHARED)
    for i in range(count):
        seq = 126100 + i * 7
        pblanc_id = f"PBLN_{seq:015d}"
        start, end = dates(rng, "bizinfo", i)
        _, lclas = LCLAS[i % len(LCLAS)]
        organization = ORGS[i % len(ORGS)]
        title = f"2026년 {THEMES[i % len(THEMES)]} {SUFFIXES[i % len(SUFFIXES)]}"
        period = period_text(rng, start, end, i)
        programme = next(shared, None) if has("bizinfo", "shared-programme", i) else None
        if programme is not None:
            title, organization = programme.title, programme.organization
            start, end = programme.start, programme.end
            _, lclas = next(c for c in LCLAS if c[0] == programme.category)
            period = f"{start:%Y-%m-%d} ~ {end:%Y-%m-%d}"
        if has("bizinfo", "region-prefix", i) and programme is None:
            title = f"{REGION_PREFIXES[i % len(REGION_PREFIXES)]} {title}"
        if has("bizinfo", "trailing-whitespace", i):
            title += "  \t"
        summary = f"<p>{THEMES[i % len(THEMES)]} 사업을 통해 R&amp;D 및 사업화를 지원합니다.</p>\r\n<p>지원규모: 최대 {1 + i % 9}억원</p>"
        if has("bizinfo", "escaped-html", i):
            summary = summary.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        names = [f"{i:03d}_공고문.hwp", f"{i:03d}_신청서.hwpx", f"{i:03d}_안내.pdf"][: 1 + i % 3]
        paths = [f"/cmm/fms/getImageFile.do?atchFileId=FILE_{seq:08d}&fileSn={n}" for n in range(len(names))]
        if has("bizinfo", "fewer-paths", i):
            paths = paths[:-1] or []
        elif has("bizinfo", "more-paths", i):
            paths.append(f"/cmm/fms/getImageFile.do?atchFileId=FILE_{seq:08d}&fileSn=9")  # more paths
        tags = [lclas, REGION_TAGS[i % len(REGION_TAGS)]] if has("bizinfo", "region-hashtag", i) else [lclas]
        created = registered(days, start)
        if programme is not None:
            tags = [lclas, SHARED_REGION]
            created = start - timedelta(days=1)
        changed = updated(days, created)
        total = "{TOTAL}"
        item: dict[str, Any] = {
            "pblancId": pblanc_id,
            "pblancNm": title,
            "jrsdInsttNm": organization,
            "excInsttNm": ("기초자치단체", "직접수행", "창업진흥원", "한국산업기술진흥원", None)[i % 5],
            "pldirSportRealmLclasCodeNm": lclas,
            "pldirSportRealmMlsfcCodeNm": f"{lclas} 일반",
            "trgetNm": TARGETS[i % len(TARGETS)]
            + ("," + TARGETS[(i + 1) % len(TARGETS)] if has("bizinfo", "comma-list", i) else ""),
            "reqstBeginEndDe": period,
            "bsnsSumryCn": summary,
            "hashtags": ",".join(tags),
            "creatPnttm": f"{created:%Y-%m-%d} 10:{i % 60:02d}:00",
            "updtPnttm": f"{changed:%Y-%m-%d} 15:{i % 60:02d}:30",
            # The id is never read from the URL.
            "pblancUrl": (
                f"https://www.bizinfo.go.kr/web/lay1/bbs/S1T122C128/AS/74/view.do?pblancId={seq}"
                if has("bizinfo", "short-id-url", i)
                else f"/sii/siia/selectSIIA200Detail.do?pblancId={pblanc_id}"
            ),
            "fileNm": "@".join(names),
            "flpthNm": "@".join(paths),
            "printFileNm": f"{i:03d}_공고문.pdf" if has("bizinfo", "print-file", i) else "",
            "printFlpthNm": f"/cmm/fms/print.do?atchFileId=FILE_{seq:08d}"
            if has("bizinfo", "print-file", i)
            else "",
            "reqstMthPapersCn": "온라인 접수\r\n- 기업마당 누리집\r\n- 제출서류: 사업계획서",
            "refrncNm": f"{organization} 담당자 044-200-{1000 + i}",
            "rceptEngnHmpgUrl": "https://www.k-startup.go.kr" if has("bizinfo", "reception-site", i) else "",
            "inqireCo": str(100 + i * 3) if has("bizinfo", "numbers-as-strings", i) else 100 + i * 3,
            "totCnt": total if has("bizinfo", "numbers-as-strings", i) else 0,
        }
        items.append(item)
    # Broken items: nothing is dropped silently, they must come back as rejections.
    for i, item in enumerate(items):
        if has("bizinfo", "blank-title", i):
            item["pblancNm"] = "   "
        if has("bizinfo", "impossible-date", i):
            item["reqstBeginEndDe"] = "2026-02-30 ~ 2026-03-10"
    for item in items:
        item["totCnt"] = str(len(items)) if item["totCnt"] == "{TOTAL}" else len(items)
    return items


def write_bizinfo(out: Path, rng: random.Random) -> int:
    items = bizinfo_items(rng)
    folder = out / "bizinfo"
    folder.mkdir(parents=True, exist_ok=True)
    # Two pages in two of the envelopes seen live.
    pages = ({"jsonArray": items[:50]}, {"jsonArray": {"title": "기업마당 지원사업", "item": items[50:]}})
    for number, page in enumerate(pages, start=1):
        text = json.dumps(page, ensure_ascii=False, indent=1)
        (folder / f"page-{number}.json").write_text(text + "\n", encoding="utf-8")
    return len(items)


KSTARTUP_REGIONS = (
    "서울",
    "전국",
    "전남광주",
    "서울,경기",
    "부산",
    "대구ㆍ경북",
    "강원·충북",
    "전국",
    None,
    "제주",
)


def kstartup_items(rng: random.Random, count: int = COUNTS["kstartup"]) -> list[dict[str, Any]]:
    """K-Startup items (docs/sources.md §2): numeric pbanc_sn, CRLF titles, entities, nulls, markdown."""
    items: list[dict[str, Any]] = []
    shared = iter(SHARED)
    for i in range(count):
        start, end = dates(rng, "kstartup", i)
        title = f"2026년 {THEMES[(i * 3) % len(THEMES)]} {SUFFIXES[(i + 2) % len(SUFFIXES)]}"
        organization = ("창업진흥원", "중소벤처기업부", "서울창조경제혁신센터", "한국청년기업가정신재단")[
            i % 4
        ]
        programme = next(shared, None) if has("kstartup", "shared-programme", i) else None
        if programme is not None:
            title, organization, start, end = (
                programme.title,
                programme.organization,
                programme.start,
                programme.end,
            )
        if has("kstartup", "entity-title", i):
            title = title.replace("R&D", "R&amp;D") + " &#40;재공고&#41;"
        if has("kstartup", "crlf-title", i):
            title += "\r\n"
        sn = 175000 + i * 13
        items.append(
            {
                "id": i + 1,  # a row number, never a key
                "pbanc_sn": sn,
                "biz_pbanc_nm": title,
                "pbanc_ntrp_nm": organization,
                "supt_biz_clsfc": (
                    "사업화",
                    "기술개발(R&D)",
                    "멘토링ㆍ컨설팅ㆍ교육",
                    "시설ㆍ공간ㆍ보육",
                    "글로벌",
                )[i % 5],
                "supt_regin": SHARED_REGION if programme else KSTARTUP_REGIONS[i % len(KSTARTUP_REGIONS)],
                "pbanc_rcpt_bgng_dt": f"{start:%Y%m%d}",
                "pbanc_rcpt_end_dt": None if has("kstartup", "open-end", i) else f"{end:%Y%m%d}",
                "aply_trgt": ("대학생,일반인", "일반기업", "대학생ㆍ일반인·청소년", None)[i % 4],
                "biz_enyy": ("예비창업자,1년미만", "3년미만,5년미만", "7년미만", None)[i % 4],
                "biz_trgt_age": ("만 20세 이상 ~ 만 39세 이하", None)[i % 2],
                "sprv_inst": ("공공기관", "민간", "지자체")[i % 3],
                "pbanc_ctnt": f"<p>{THEMES[i % len(THEMES)]} 지원&nbsp;대상 모집</p>\r\n<ul><li>지원금 최대 {i % 5 + 1}천만원</li></ul>",
                "detl_pg_url": f"https://www.k-startup.go.kr/web/contents/bizpbanc-ongoing.do?schM=view&amp;pbancSn={sn}",
                "aply_mthd_onli_rcpt_istc": f"[K-Startup 누리집](https://www.k-startup.go.kr/apply/{sn})"
                if has("kstartup", "markdown-link", i)
                else None,
                "biz_gdnc_url": "www.k-startup.go.kr/guide" if has("kstartup", "schemeless-url", i) else None,
                "aply_mthd_etc_istc": '<a href="#" onClick="window.open(\'/popup\')">방문 접수</a>'
                if has("kstartup", "onclick-html", i)
                else None,
                "rcrt_prgs_yn": "N" if has("kstartup", "recruiting-closed", i) else "Y",
                "prch_cnpl_no": f"02-{3000 + i}-0000" if has("kstartup", "contact-phone", i) else None,
            }
        )
    for i, item in enumerate(items):
        if has("kstartup", "no-title", i):
            item["biz_pbanc_nm"] = None  # must come back rejected, not dropped
    return items


def write_kstartup(out: Path, rng: random.Random) -> int:
    items = kstartup_items(rng)
    folder = out / "kstartup"
    folder.mkdir(parents=True, exist_ok=True)
    for number, chunk in enumerate((items[:50], items[50:]), start=1):
        page = {
            "currentCount": len(chunk),
            "data": chunk,
            "matchCount": len(items),
            "page": number,
            "perPage": 50,
            "totalCount": len(items),
        }
        text = json.dumps(page, ensure_ascii=False, indent=1)
        (folder / f"page-{number}.json").write_text(text + "\n", encoding="utf-8")
    return len(items)


def mss_item_xml(rng: random.Random, days: random.Random, i: int, programme: Programme | None) -> str:
    start, end = dates(rng, "mss", i)
    title = f"{THEMES[(i * 5) % len(THEMES)]} {SUFFIXES[i % len(SUFFIXES)]}"
    if programme is not None:
        title, start, end = programme.title, programme.start, programme.end
    elif has("mss", "region-prefix", i):
        title = f"{REGION_PREFIXES[i % len(REGION_PREFIXES)]} {title}"
    files = [
        (
            f"{i:03d}_공고문.hwp",
            f"https://www.mss.go.kr/common/board/Download.do?bcIdx={9000 + i}&streFileNm=a{i}.hwp",
        )
    ]
    if has("mss", "two-files", i):
        files.append(
            (
                f"{i:03d}_서식.zip",
                f"https://www.mss.go.kr/common/board/Download.do?bcIdx={9000 + i}&streFileNm=b{i}.zip",
            )
        )
    if has("mss", "no-files", i):
        files = []
    parts = [
        f"<itemId>{1050000 + i * 3}</itemId>",
        f"<title><![CDATA[{title}]]></title>",
        "<dataContents><![CDATA["
        + (
            f"<p>{THEMES[i % len(THEMES)]}&nbsp;공고</p><p>문의: 중소벤처기업부</p>"
            if not has("mss", "plain-contents", i)
            else "HTML 없는 본문입니다."
        )
        + "]]></dataContents>",
    ]
    if not has("mss", "no-application-dates", i) or programme is not None:
        parts.append(f"<applicationStartDate>{start:%Y-%m-%d}</applicationStartDate>")
        parts.append(f"<applicationEndDate>{end:%Y-%m-%d}</applicationEndDate>")
    parts += [
        f"<writerName>담당자{i % 9}</writerName>",
        f"<writerPosition>{('창업정책과', '기술혁신정책과', '소상공인정책과', '판로정책과')[i % 4]}</writerPosition>",
        f"<writerPhone>044-204-{7000 + i}</writerPhone>",
        f"<writerEmail>staff{i}@korea.kr</writerEmail>",
        f"<viewUrl>https://www.mss.go.kr/site/smba/ex/bbs/View.do?cbIdx=310&amp;bcIdx={1050000 + i * 3}</viewUrl>",
        # The registration date that the portal's startDate/endDate filter on.
        f"<registDate>{registered(days, start) if programme is None else start - timedelta(days=1):%Y-%m-%d}</registDate>",
    ]
    for name, url in files:
        parts.append(f"<fileName>{escape(name)}</fileName><fileUrl>{escape(url)}</fileUrl>")
    return "<item>" + "".join(parts) + "</item>"


def write_mss(out: Path, rng: random.Random, count: int = COUNTS["mss"]) -> int:
    folder = out / "mss"
    folder.mkdir(parents=True, exist_ok=True)
    shared = iter(SHARED)
    days = random.Random(SEED + 102)  # nosec B311 # seeded on purpose: reproducible fixtures
    items = [
        mss_item_xml(rng, days, i, next(shared, None) if has("mss", "shared-programme", i) else None)
        for i in range(count)
    ]
    for number, chunk in enumerate((items[:40], items[40:]), start=1):
        body = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<response><header><resultCode>00</resultCode>'
            "<resultMsg>NORMAL_CODE</resultMsg></header><body>"
            f"<numOfRows>40</numOfRows><pageNo>{number}</pageNo><totalCount>{count}</totalCount>"
            f"<items>{''.join(chunk)}</items></body></response>\n"
        )
        (folder / f"page-{number}.xml").write_text(
            body.replace("</item><item>", "</item>\n<item>"), encoding="utf-8"
        )
    return count


RSS_FEEDS = {
    "dept_mss": ("중소벤처기업부", 15, "utf-8"),
    "dept_msit": ("과학기술정보통신부", 12, "utf-8"),
    "dept_motir": ("산업통상자원부", 8, "utf-8"),
    "policy": ("정책브리핑", 10, "euc-kr"),
    "pressrelease": ("정책브리핑", 5, "utf-8"),
}


def write_rss(out: Path, rng: random.Random) -> int:
    folder = out / "rss"
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for feed, (organization, count, encoding) in RSS_FEEDS.items():
        rows: list[tuple[date, str]] = []
        for i in range(count):
            news_id = 156700000 + total * 11
            title = f"{THEMES[(i + total) % len(THEMES)]} {('본격 추진', '참여기업 모집', '지원 확대', '설명회 개최')[i % 4]}"
            if has("rss", "region-prefix", i):
                title = f"{REGION_PREFIXES[i % len(REGION_PREFIXES)]} {title}"
            description = f'<p>{organization}는 {THEMES[i % len(THEMES)]} 사업을 &quot;확대&quot;합니다.</p><img src="/a.png">'
            # Spread over the snapshot's range, newest first as feeds list them.
            day = LAST_DAY - timedelta(days=(i * 13 + total * 7) % 200)
            rows.append(
                (
                    day,
                    "<item>"
                    f"<title><![CDATA[{title}]]></title>"
                    f"<link>https://www.korea.kr/briefing/pressReleaseView.do?newsId={news_id}</link>"
                    f'<guid isPermaLink="false">{feed}-{news_id}</guid>'
                    f"<description><![CDATA[{description}]]></description>"
                    f"<pubDate>{day:%a, %d %b %Y} 09:{i % 60:02d}:00 +0900</pubDate>"
                    "</item>",
                )
            )
            total += 1
        body = (
            f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n<rss version="2.0"><channel>'
            f"<title>{organization}</title><link>https://www.korea.kr</link><description>{feed}</description>"
            + "\n".join(row for _, row in sorted(rows, key=lambda r: r[0], reverse=True))
            + "</channel></rss>\n"
        )
        (folder / f"{feed}.xml").write_bytes(body.encode("cp949" if encoding == "euc-kr" else "utf-8"))
    return total


WEB_SITES = {
    # site: (organization, region, encoding, rows per list page, items)
    "seoul": ("서울특별시", "서울", "utf-8", 10, 20),
    "gyeonggi": ("경기도", "경기", "euc-kr", 10, 20),
}


def write_web(out: Path, rng: random.Random) -> int:
    total = 0
    days = random.Random(SEED + 104)  # nosec B311 # seeded on purpose: reproducible fixtures
    for site, (organization, region, encoding, per_page, count) in WEB_SITES.items():
        folder = out / "web" / site
        folder.mkdir(parents=True, exist_ok=True)
        meta = f'<meta charset="{encoding}">' if encoding != "utf-8" else '<meta charset="utf-8">'
        rows = []
        for i in range(count):
            ntt_id = 40000 + total * 7
            start, end = dates(rng, "web", i + total)
            title = f"2026년 {region} {THEMES[(i * 7) % len(THEMES)]} {SUFFIXES[i % len(SUFFIXES)]}"
            period = period_text(rng, start, end, i + 2)
            if has("web", "impossible-date", total):
                period = "2026-13-01 ~ 2026-13-20"
            posted = registered(days, start)
            rows.append((ntt_id, title, period, posted))
            if site == "seoul":
                files = "".join(
                    f'<li><a href="/web/seoul/download.do?fileId={ntt_id}{n}">{i:03d}_첨부{n}.hwp</a></li>'
                    for n in range(i % 3)
                )
                detail = (
                    f"<!DOCTYPE html><html><head>{meta}<title>{escape(title)}</title></head><body>"
                    f'<div class="board-view"><input type="hidden" name="nttId" value="{ntt_id}">'
                    f'<h3 class="view-title">{escape(title)}</h3>'
                    f'<dl class="view-info"><dt>담당부서</dt><dd class="dept">{organization} 경제정책과</dd>'
                    f'<dt>신청기간</dt><dd class="period">{escape(period)}</dd>'
                    f'<dt>등록일</dt><dd class="date">{posted:%Y-%m-%d}</dd></dl>'
                    f'<div class="view-content"><p>{THEMES[i % len(THEMES)]} 참여 기업을 모집합니다.</p>'
                    f"<script>track('{ntt_id}')</script><p>문의&nbsp;: 02-2133-{1000 + i}</p></div>"
                    f'<ul class="file-list">{files}</ul></div></body></html>\n'
                )
            else:
                files = "".join(
                    f'<a class="attach" href="/web/gyeonggi/fileDown.do?id={ntt_id}{n}">{i:03d}_붙임{n}.pdf</a>'
                    for n in range(1 + i % 2)
                )
                detail = (
                    f"<html><head>{meta}<title>경기도 공고</title></head><body>"
                    f'<article id="notice" data-ntt-id="{ntt_id}"><header><h2>{escape(title)}</h2>'
                    f'<span class="writer">{organization} 기업지원과</span>'
                    f'<span class="term">접수기간 : {escape(period)}</span>'
                    f'<span class="date">{posted:%Y.%m.%d}</span></header>'
                    f'<section class="content">{THEMES[i % len(THEMES)]} 지원사업 안내<br>세부 내용은 붙임 참조</section>'
                    f'<footer class="files">{files}</footer></article></body></html>\n'
                )
            (folder / f"detail-{ntt_id}.html").write_bytes(
                detail.encode("cp949" if encoding == "euc-kr" else "utf-8")
            )
            total += 1
        rows.sort(key=lambda row: row[3], reverse=True)  # boards list the newest first
        pages = [rows[n : n + per_page] for n in range(0, len(rows), per_page)]
        for number, chunk in enumerate(pages, start=1):
            more = number < len(pages)
            if site == "seoul":
                body_rows = "".join(
                    f'<tr><td class="num">{ntt_id}</td><td class="subject">'
                    f'<a href="/web/seoul/view.do?nttId={ntt_id}">{escape(title)}</a></td>'
                    f'<td class="period">{escape(period)}</td><td class="date">{posted:%Y-%m-%d}</td></tr>'
                    for ntt_id, title, period, posted in chunk
                )
                nav = (
                    f'<a class="next" href="/web/seoul/list.do?pageIndex={number + 1}">다음</a>'
                    if more
                    else ""
                )
                html = (
                    f"<!DOCTYPE html><html><head>{meta}<title>고시공고</title></head><body>"
                    f'<table class="board-list"><tbody>{body_rows}</tbody></table>'
                    f'<div class="paging">{nav}</div></body></html>\n'
                )
            else:
                body_rows = "".join(
                    f'<li class="item"><a href="/web/gyeonggi/view.do?id={ntt_id}">'
                    f'<strong class="tit">{escape(title)}</strong></a>'
                    f'<span class="date">{posted:%Y.%m.%d}</span></li>'
                    for ntt_id, title, _, posted in chunk
                )
                nav = f'<a class="btn-next" href="?page={number + 1}">다음 페이지</a>' if more else ""
                html = (
                    f"<html><head>{meta}<title>경기도 공고</title></head><body>"
                    f'<ul class="notice-list">{body_rows}</ul><nav>{nav}</nav></body></html>\n'
                )
            (folder / f"list-{number}.html").write_bytes(
                html.encode("cp949" if encoding == "euc-kr" else "utf-8")
            )
    return total


def generate(out: Path) -> dict[str, int]:
    """Write every source's files under ``out`` (created if missing); return the items per source."""
    # Seeded on purpose: reproducible fixtures, one stream per source.
    return {
        "bizinfo": write_bizinfo(out, random.Random(SEED)),  # nosec B311
        "kstartup": write_kstartup(out, random.Random(SEED + 1)),  # nosec B311
        "mss": write_mss(out, random.Random(SEED + 2)),  # nosec B311
        "rss": write_rss(out, random.Random(SEED + 3)),  # nosec B311
        "web": write_web(out, random.Random(SEED + 4)),  # nosec B311
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.snapshot.generate", description=__doc__.splitlines()[1]
    )
    parser.add_argument(
        "output",
        type=Path,
        help="folder to write into (the bundled copy: aegis_orchestration/sources/snapshot)",
    )
    counts = generate(parser.parse_args(argv).output)
    print(json.dumps(counts), sum(counts.values()))


if __name__ == "__main__":
    main()
