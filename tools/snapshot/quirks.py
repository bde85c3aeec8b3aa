"""Which quirk of docs/sources.md each generated snapshot item carries: one table, for generator and tests.

Each :class:`Quirk` names a wire-format oddity a source really shows, and the items (by position
in that source's generated list) that carry it: ``at`` lists positions, ``every=(step, offset)``
marks every item whose position is ``offset`` modulo ``step``. The generator asks
:func:`has` while writing an item; tests read :data:`QUIRKS` to know which quirks the bundled
snapshot holds, how many items carry each, and which must come back rejected (``rejects``: the
DP code) rather than as announcements. Moving a quirk is an edit here, never in the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# The snapshot's "yesterday": the newest registration or update date in it. The replay server
# re-anchors every date so that this day becomes the day before the run.
LAST_DAY = date(2026, 7, 10)

# Items generated per source (web: over both boards, seoul's first).
COUNTS = {"bizinfo": 90, "kstartup": 80, "mss": 60, "web": 40}


@dataclass(frozen=True, slots=True)
class Quirk:
    """One oddity of one source, and the positions of the generated items that carry it."""

    source: str
    name: str
    description: str
    at: tuple[int, ...] = ()
    every: tuple[int, int] | None = None
    # The code the item must be rejected with; None when it must still become an announcement.
    rejects: str | None = None

    def applies(self, index: int) -> bool:
        if index in self.at:
            return True
        return self.every is not None and index % self.every[0] == self.every[1]

    def positions(self, count: int) -> list[int]:
        """The positions among ``count`` generated items that carry this quirk."""
        return [i for i in range(count) if self.applies(i)]


@dataclass(frozen=True)
class Programme:
    """A programme that several sources announce: the cross-source duplicates."""

    title: str
    organization: str
    start: date
    end: date
    category: str


# Open on the snapshot's last day, and announced by every source inside the last two weeks, so a
# demo collecting that window sees each programme from several sources and merges them. True
# copies name the same regions on every source (bizinfo's hashtags and K-Startup's supt_regin).
SHARED_REGION = "전국"
SHARED = tuple(
    Programme(
        title, organization, LAST_DAY - timedelta(days=opens), LAST_DAY + timedelta(days=closes), category
    )
    for title, organization, opens, closes, category in (
        ("2026년 예비창업패키지 예비창업자 모집 공고", "중소벤처기업부", 12, 20, "06"),
        ("2026년 초기창업패키지 창업기업 모집 공고", "중소벤처기업부", 10, 25, "06"),
        ("2026년 창업도약패키지 참여기업 모집 공고", "중소벤처기업부", 8, 15, "06"),
        ("2026년 청년창업사관학교 입교생 모집 공고", "중소벤처기업진흥공단", 6, 30, "06"),
        ("2026년 글로벌 창업사관학교 참여기업 모집", "중소벤처기업부", 4, 18, "06"),
        ("2026년 스마트공장 구축 지원사업 공고", "중소벤처기업부", 2, 40, "02"),
    )
)

_SHARED = "one of the SHARED programmes, as this source words it (a cross-source duplicate)"
_DECEMBER = "application opens 2025-12-15, so the period crosses into 2026"

QUIRKS: tuple[Quirk, ...] = (
    # bizinfo (docs/sources.md §1)
    Quirk("bizinfo", "shared-programme", _SHARED, at=(4, 13, 22, 31, 40, 49)),
    Quirk(
        "bizinfo", "region-prefix", "title starts with a [서울ㆍ인천ㆍ경기]-style region label", every=(5, 0)
    ),
    Quirk("bizinfo", "trailing-whitespace", "title ends in spaces and a tab", every=(7, 0)),
    Quirk("bizinfo", "escaped-html", "bsnsSumryCn is HTML escaped once more (&lt;p&gt;)", every=(3, 0)),
    Quirk("bizinfo", "fewer-paths", "flpthNm lists fewer paths than fileNm names", every=(4, 1)),
    Quirk("bizinfo", "more-paths", "flpthNm lists more paths than fileNm names", every=(4, 2)),
    Quirk(
        "bizinfo", "numbers-as-strings", "inqireCo and totCnt are strings, elsewhere numbers", every=(2, 1)
    ),
    Quirk("bizinfo", "short-id-url", "pblancUrl carries the short numeric id, not pblancId", every=(2, 0)),
    Quirk("bizinfo", "december-start", _DECEMBER + ", written without the end's year", every=(12, 3)),
    Quirk("bizinfo", "region-hashtag", "hashtags name a 시도 besides the field", every=(2, 0)),
    Quirk("bizinfo", "comma-list", "trgetNm lists two targets, comma-separated", every=(2, 1)),
    Quirk(
        "bizinfo",
        "print-file",
        "a printable notice in printFileNm/printFlpthNm (else empty strings)",
        every=(3, 0),
    ),
    Quirk(
        "bizinfo",
        "reception-site",
        "rceptEngnHmpgUrl names another site (else an empty string)",
        every=(4, 0),
    ),
    Quirk("bizinfo", "blank-title", "pblancNm is only spaces", at=(37,), rejects="DP_2005"),
    Quirk("bizinfo", "impossible-date", "period starts on 2026-02-30", at=(61,), rejects="DP_2004"),
    # K-Startup (docs/sources.md §2)
    Quirk("kstartup", "shared-programme", _SHARED, at=(2, 9, 16, 23, 30, 37)),
    Quirk("kstartup", "entity-title", "title has &amp; and &#40;재공고&#41; entities", every=(6, 1)),
    Quirk("kstartup", "crlf-title", "title ends in CRLF", every=(4, 0)),
    Quirk("kstartup", "open-end", "pbanc_rcpt_end_dt is null", every=(11, 5)),
    Quirk("kstartup", "markdown-link", "online application is a markdown link", every=(3, 0)),
    Quirk("kstartup", "schemeless-url", "biz_gdnc_url has no scheme", every=(2, 1)),
    Quirk("kstartup", "onclick-html", "other application method is an onClick anchor", every=(5, 0)),
    Quirk("kstartup", "december-start", _DECEMBER, every=(12, 3)),
    Quirk("kstartup", "recruiting-closed", "rcrt_prgs_yn is N", every=(3, 0)),
    Quirk("kstartup", "contact-phone", "prch_cnpl_no holds a phone number (else null)", every=(2, 1)),
    Quirk("kstartup", "no-title", "biz_pbanc_nm is null", at=(44,), rejects="DP_2005"),
    # MSS (docs/sources.md §3)
    Quirk("mss", "shared-programme", _SHARED, at=(7, 17, 27, 37, 47, 57)),
    Quirk("mss", "region-prefix", "title starts with a region label", every=(6, 0)),
    Quirk("mss", "two-files", "two fileName/fileUrl pairs", every=(3, 0)),
    Quirk("mss", "no-files", "no attachment at all", every=(7, 3)),
    Quirk("mss", "plain-contents", "dataContents is plain text, not HTML", every=(4, 0)),
    Quirk("mss", "no-application-dates", "applicationStartDate/EndDate are missing", every=(3, 2)),
    Quirk("mss", "december-start", _DECEMBER, every=(12, 3)),
    # ministry feeds (docs/sources.md §5): the EUC-KR feed is a column of RSS_FEEDS in the generator
    Quirk(
        "rss", "region-prefix", "title starts with a region label (position within its feed)", every=(5, 0)
    ),
    # local-government boards (scraped pages): the EUC-KR board is a column of WEB_SITES
    Quirk(
        "web",
        "impossible-date",
        "seoul board item with the period 2026-13-01 ~ 2026-13-20",
        at=(13,),
        rejects="DP_2004",
    ),
)


def quirks_of(source: str) -> tuple[Quirk, ...]:
    return tuple(q for q in QUIRKS if q.source == source)


def has(source: str, name: str, index: int) -> bool:
    """Whether item ``index`` of ``source`` carries quirk ``name``.

    A name no source has is a typo and raises; a source without that quirk simply never has it.
    """
    if not any(q.name == name for q in QUIRKS):
        raise KeyError(f"no quirk named {name!r} in QUIRKS")
    return any(q.applies(index) for q in QUIRKS if q.source == source and q.name == name)
