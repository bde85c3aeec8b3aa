"""Registration/update dates and closed flags from every source, re-anchoring, and one-day collection."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import httpx
import pytest

from aegis_orchestration.sources import parse
from aegis_orchestration.sources.catalog import collect_source
from aegis_orchestration.sources.dateshift import shift_rfc822, shift_text
from aegis_orchestration.sources.days import parse_day, record_days
from aegis_orchestration.sources.replay import ReplayServer
from aegis_orchestration.sources.snapshot import (
    load_announcements,
    snapshot_days,
    snapshot_window,
    today_in_seoul,
)
from aegis_shared.models import Announcement

from .conftest import KEY, config_for

SOURCES = ["bizinfo", "kstartup", "mss", "rss", "web"]


# -- parsers fill the new fields ------------------------------------------------------------------


def bizinfo_item(**fields: object) -> dict[str, object]:
    item: dict[str, object] = {
        "pblancId": "PBLN_000000000100001",
        "pblancNm": "2026년 수출바우처 모집 공고",
        "reqstBeginEndDe": "2026-03-03 ~ 2026-03-20",
        "creatPnttm": "2026-03-02 10:00:00",
        "updtPnttm": "2026-03-05 15:00:30",
    }
    item.update(fields)
    return item


def test_bizinfo_registration_and_update_dates() -> None:
    body = json.dumps({"jsonArray": [bizinfo_item()]}, ensure_ascii=False).encode()
    [record] = parse("bizinfo", body, "application/json").records
    assert record.registered_on == date(2026, 3, 2)
    assert record.updated_on == date(2026, 3, 5)
    assert not record.closed_by_source


def test_bizinfo_unreadable_dates_leave_the_fields_empty_not_the_item_rejected() -> None:
    body = json.dumps({"jsonArray": [bizinfo_item(creatPnttm="", updtPnttm="2026-02-30 10:00:00")]}).encode()
    page = parse("bizinfo", body, "application/json")
    assert not page.rejected
    assert page.records[0].registered_on is None and page.records[0].updated_on is None


def test_bizinfo_rss_form_pub_date_is_the_registration_date() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>2026년 수출바우처 모집</title><link>/x</link><seq>100001</seq>"
        "<pubDate>2026-04-01 09:10:00</pubDate><reqstDt>상시 접수</reqstDt></item></channel></rss>"
    ).encode()
    [record] = parse("bizinfo", body, "text/xml").records
    assert record.registered_on == date(2026, 4, 1)


@pytest.mark.parametrize(
    ("flag", "closed"), [("N", True), ("Y", False), (None, False), (" n ", True), ("", False)]
)
def test_kstartup_recruitment_flag_is_the_sources_closed_word(flag: str | None, closed: bool) -> None:
    item = {
        "pbanc_sn": 170001,
        "biz_pbanc_nm": "2026년 예비창업패키지 모집",
        "pbanc_rcpt_bgng_dt": "20260301",
        "pbanc_rcpt_end_dt": "20260320",
        "rcrt_prgs_yn": flag,
    }
    body = json.dumps({"currentCount": 1, "data": [item], "matchCount": 1}, ensure_ascii=False).encode()
    [record] = parse("kstartup", body, "application/json").records
    assert record.closed_by_source is closed
    assert record.registered_on is None  # K-Startup publishes no registration date
    assert record_days(record) == {date(2026, 3, 1)}  # its partition is the day receipt opens


def test_kstartup_xml_form_closed_flag() -> None:
    body = (
        "<results><matchCount>1</matchCount><data><item>"
        '<col name="pbanc_sn">170002</col><col name="biz_pbanc_nm">2026년 창업도약패키지</col>'
        '<col name="pbanc_rcpt_bgng_dt">20260301</col><col name="rcrt_prgs_yn">N</col>'
        "</item></data></results>"
    ).encode()
    [record] = parse("kstartup", body, "text/xml").records
    assert record.closed_by_source


def test_mss_registration_date() -> None:
    item = "<item><itemId>1050001</itemId><title><![CDATA[스마트공장 지원 공고]]></title>{}</item>"
    envelope = (
        "<response><header><resultCode>00</resultCode><resultMsg>NORMAL_CODE</resultMsg></header>"
        "<body><totalCount>2</totalCount><items>{}</items></body></response>"
    )
    body = envelope.format(
        item.format("<registDate>2026-05-06</registDate>") + item.replace("1050001", "1050002").format("")
    )
    records = {r.source_id: r for r in parse("mss", body.encode(), "text/xml").records}
    assert records["1050001"].registered_on == date(2026, 5, 6)
    assert records["1050002"].registered_on is None


def test_rss_pub_date_is_read_in_seoul_time() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>중소벤처기업부</title>'
        "<item><title>지원사업 공고</title><link>https://www.korea.kr/a</link><guid>a</guid>"
        "<pubDate>Thu, 02 Jul 2026 23:30:00 +0000</pubDate></item>"
        "<item><title>다른 공고</title><link>https://www.korea.kr/b</link><guid>b</guid>"
        "<pubDate>Fri, 03 Jul 2026 08:00:00 +0900</pubDate></item></channel></rss>"
    ).encode()
    records = {r.source_id: r for r in parse("rss", body, "application/rss+xml").records}
    assert records["a"].registered_on == date(2026, 7, 3)  # 08:30 in Seoul
    assert records["b"].registered_on == date(2026, 7, 3)


def test_board_detail_posted_date() -> None:
    web = [r for r in load_announcements("web")]
    assert web and all(r.registered_on is not None for r in web)
    assert {r.raw["posted"] for r in web if r.source_id.startswith("gyeonggi:")} <= {
        f"{r.registered_on:%Y.%m.%d}" for r in web
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02 10:00:00", date(2026, 3, 2)),
        ("2026.03.02", date(2026, 3, 2)),
        ("20260302", date(2026, 3, 2)),
        ("Mon, 02 Mar 2026 09:00:00 +0900", date(2026, 3, 2)),
        ("2026-13-01", None),
        ("", None),
        (None, None),
        ("상시", None),
    ],
)
def test_parse_day(text: str | None, expected: date | None) -> None:
    assert parse_day(text) == expected


# -- re-anchoring the snapshot --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days", "expected"),
    [
        ("2026-09-03 ~ 2026-09-17", 30, "2026-10-03 ~ 2026-10-17"),
        ("20220727 ~ 20220930", 10, "20220806 ~ 20221010"),
        ("2020.01.01 ~ 2026.12.31", 1, "2020.01.02 ~ 2027.01.01"),
        ("2025. 12. 15. ~ 1. 15.", 30, "2026. 1. 14. ~ 2. 14."),
        ("2026. 1. 10. ~ 1. 25.", -20, "2025. 12. 21. ~ 1. 5."),
        (
            "2026. 10. 2.(금) 09:00 ~ 10. 16.(금) 18:00 까지",
            1,
            "2026. 10. 3.(토) 09:00 ~ 10. 17.(토) 18:00 까지",
        ),
        (
            "2026-09-03 ～ 2026-09-17 (예산 소진 시 조기마감)",
            2,
            "2026-09-05 ～ 2026-09-19 (예산 소진 시 조기마감)",
        ),
        ("2026-02-30 ~ 2026-13-20", 5, "2026-02-30 ~ 2026-13-20"),
        ("상시 접수", 5, "상시 접수"),
        (
            "PBLN_000000000126191 02-2133-1000 newsId=156700000",
            5,
            "PBLN_000000000126191 02-2133-1000 newsId=156700000",
        ),
    ],
)
def test_shift_text_keeps_every_format(text: str, days: int, expected: str) -> None:
    assert shift_text(text, days) == expected


def test_shift_rfc822_recomputes_the_weekday() -> None:
    shifted = shift_rfc822("<pubDate>Fri, 10 Jul 2026 09:00:00 +0900</pubDate>", 1)
    assert shifted == "<pubDate>Sat, 11 Jul 2026 09:00:00 +0900</pubDate>"


def collect_all(server: ReplayServer) -> dict[tuple[str, str], Announcement]:
    out = {}
    for source in SOURCES:
        for record in collect_source(source, config_for(server, per_page=100)).records:
            out[(source, record.source_id)] = record
    return out


def status_on(record: Announcement, today: date) -> str:
    if record.period_end is not None and record.period_end < today:
        return "ended"
    if record.period_start is not None and record.period_start > today:
        return "upcoming"
    return "open"


def test_anchor_moves_every_date_by_one_shift_and_keeps_the_mix() -> None:
    anchor = date(2027, 3, 15)
    with (
        ReplayServer(valid_keys={KEY}, anchor=anchor) as shifted,
        ReplayServer(valid_keys={KEY}, anchor=None) as asis,
    ):
        moved, original = collect_all(shifted), collect_all(asis)
    assert shifted.shift == (anchor - timedelta(days=1) - snapshot_days()[1]).days and asis.shift == 0
    assert moved.keys() == original.keys()
    delta = timedelta(days=shifted.shift)
    for key, record in moved.items():
        before = original[key]
        for name in ("registered_on", "updated_on", "period_start", "period_end"):
            old, new = getattr(before, name), getattr(record, name)
            assert (old is None) == (new is None), (key, name)
            if old is not None:
                assert new - old == delta, (key, name, old, new)
        assert record.closed_by_source == before.closed_by_source
    newest = max(d for r in moved.values() for d in (r.registered_on, r.updated_on) if d)
    assert newest == anchor - timedelta(days=1)
    snapshot_today = snapshot_days()[1] + timedelta(days=1)
    mix_moved = sorted(status_on(r, anchor) for r in moved.values())
    mix_original = sorted(status_on(r, snapshot_today) for r in original.values())
    assert mix_moved == mix_original
    assert {"ended", "open", "upcoming"} <= set(mix_moved)


def test_unshifted_replay_serves_the_files_as_written() -> None:
    with ReplayServer(valid_keys={KEY}, anchor=None) as server:
        served = collect_all(server)
    offline = {(r.source, r.source_id): r for r in load_announcements()}
    assert served.keys() == offline.keys()
    # Boards' records carry the detail link only when fetched over HTTP; every other field agrees.
    ignore = {"url", "content_hash", "collected_at"}
    for key, record in offline.items():
        if key[0] == "web":
            assert served[key].model_dump(exclude=ignore) == record.model_dump(exclude=ignore), key
        else:
            assert served[key].content_hash == record.content_hash, key


def test_default_anchor_is_today_in_seoul() -> None:
    server = ReplayServer()
    try:
        assert server.anchor == today_in_seoul()
    finally:
        server._server.server_close()


def test_snapshot_window() -> None:
    first, last = snapshot_days()
    records = load_announcements()
    assert last == max(d for r in records for d in (r.registered_on, r.updated_on) if d)
    assert first == min(d for r in records for d in record_days(r))
    anchor = date(2026, 12, 3)
    shift = timedelta(days=(anchor - timedelta(days=1) - last).days)
    assert snapshot_window(anchor) == (first + shift, anchor - timedelta(days=1))
    assert snapshot_window(None) == (first, last)


def test_updates_are_recent_and_registrations_spread() -> None:
    _, last = snapshot_days()
    recent = last - timedelta(days=13)
    updated = [r.updated_on for r in load_announcements("bizinfo") if r.updated_on]
    assert updated and sum(d >= recent for d in updated) > len(updated) / 2
    registered = [r.registered_on for r in load_announcements() if r.registered_on]
    assert (max(registered) - min(registered)).days > 120
    months = {(d.year, d.month) for d in registered}
    assert len(months) >= 6  # a backfill of any of the past months finds data


# -- one day over HTTP ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_one_day_collects_exactly_that_days_items(replay: ReplayServer, source: str) -> None:
    shift = timedelta(days=replay.shift)
    by_id = {r.source_id: {d + shift for d in record_days(r)} for r in load_announcements(source)}
    days = sorted({d for ds in by_id.values() for d in ds}, reverse=True)[:4]
    for day in days:
        result = collect_source(source, config_for(replay, per_page=5), day)
        assert {r.source_id for r in result.records} == {sid for sid, ds in by_id.items() if day in ds}
        assert result.day == day and not result.failures


def test_filters_are_sent_to_the_sources_that_have_them(replay: ReplayServer) -> None:
    day = date(2026, 11, 20)
    collect_source("kstartup", config_for(replay), day)
    collect_source("mss", config_for(replay), day)
    [kstartup] = replay.requests_for("kstartup")
    assert kstartup.query["cond[pbanc_rcpt_bgng_dt::EQ]"] == ["20261120"]
    [mss] = replay.requests_for("mss")
    assert mss.query["startDate"] == ["20261120"] and mss.query["endDate"] == ["20261120"]


def test_the_replay_filters_like_the_real_apis(replay: ReplayServer) -> None:
    base = f"{replay.base_url}/B552735/kisedKstartupService01/getAnnouncementInformation01"
    all_items = httpx.get(base, params={"serviceKey": KEY, "returnType": "json", "perPage": 1000}).json()
    starts = sorted(i["pbanc_rcpt_bgng_dt"] for i in all_items["data"])
    middle = starts[len(starts) // 2]
    filtered = httpx.get(
        base,
        params={
            "serviceKey": KEY,
            "returnType": "json",
            "perPage": 5,
            "cond[pbanc_rcpt_bgng_dt::GTE]": middle,
        },
    ).json()
    assert filtered["matchCount"] == sum(s >= middle for s in starts)
    assert filtered["totalCount"] == len(starts) and filtered["currentCount"] == min(
        5, filtered["matchCount"]
    )
    assert replay.request_count("kstartup") == 2
    assert replay.items_served("kstartup") == len(starts) + filtered["currentCount"]


def test_cli_serves_with_an_anchor() -> None:
    for anchor, newest in (("2026-11-01", date(2026, 10, 31)), ("none", snapshot_days()[1])):
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from aegis_orchestration.sources.cli import sources; sources()",
                "serve",
                "--port",
                "0",
                "--anchor",
                anchor,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            line = process.stdout.readline() if process.stdout else ""
            base = line.split()[0].split("=", 1)[1]
            response = httpx.get(
                f"{base}/uss/rss/bizinfoApi.do",
                params={"crtfcKey": "k", "dataType": "json", "pageUnit": 500},
                timeout=10,
            )
            items = response.json()["jsonArray"]
            changed = {parse_day(i["updtPnttm"]) for i in items} | {parse_day(i["creatPnttm"]) for i in items}
            assert max(d for d in changed if d) == newest
        finally:
            process.terminate()
            process.wait(timeout=10)
