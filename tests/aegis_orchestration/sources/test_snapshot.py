"""The bundled snapshot: size, quirks, cross-source duplicates, nothing dropped."""

from __future__ import annotations

import json
from collections import Counter

from aegis_orchestration.sources.snapshot import load_announcements, load_pages, snapshot_files


def test_at_least_300_announcements_over_every_source() -> None:
    records = load_announcements()
    assert len(records) >= 300
    assert set(Counter(r.source for r in records)) == {"bizinfo", "kstartup", "mss", "rss", "web"}
    assert len({(r.source, r.source_id) for r in records}) == len(records)


def test_every_item_is_collected_or_rejected_with_a_code() -> None:
    bizinfo_items = sum(
        len(
            json.loads(f.read_text("utf-8"))["jsonArray"]
            if isinstance(json.loads(f.read_text("utf-8"))["jsonArray"], list)
            else json.loads(f.read_text("utf-8"))["jsonArray"]["item"]
        )
        for f in snapshot_files("bizinfo")
    )
    pages = load_pages("bizinfo")
    assert sum(p.item_count for p in pages) == bizinfo_items == 90
    rejected = [r for p in pages for r in p.rejected]
    assert sorted(r.code for r in rejected) == ["DP_2004", "DP_2005"]
    assert all(r.reason and r.raw for r in rejected)


def test_cross_source_duplicates_exist() -> None:
    records = load_announcements()
    by_programme: dict[tuple[str, str | None], set[str]] = {}
    for r in records:
        by_programme.setdefault((r.title, str(r.period_start)), set()).add(r.source)
    shared = [key for key, sources in by_programme.items() if len(sources) >= 2]
    assert len(shared) >= 4


def test_quirks_survive_normalisation() -> None:
    records = load_announcements()
    assert all("<" not in (r.summary or "") and "&lt;" not in (r.summary or "") for r in records)
    assert all(r.title == r.title.strip() and "\r" not in r.title for r in records)
    assert any(r.period_open_ended and r.period_start is None for r in records)
    assert any(
        r.period_start and r.period_start.year == 2025 and r.period_end and r.period_end.year == 2026
        for r in records
    )
    assert any(len(r.region_codes) == 17 for r in records)  # 전국
    assert any(r.region_codes == ["29", "46"] for r in records)  # 전남광주
    bizinfo = [r for r in records if r.source == "bizinfo"]
    assert any(a.url is None for r in bizinfo for a in r.attachments)  # more names than paths
    assert any(isinstance(r.raw["totCnt"], str) for r in bizinfo) and any(
        isinstance(r.raw["totCnt"], int) for r in bizinfo
    )
    assert any("\r\n" in r.raw["reqstMthPapersCn"] for r in bizinfo)
    web = [r for r in records if r.source == "web"]
    assert any(r.source_id.startswith("gyeonggi:") and "경기" in r.title for r in web)  # EUC-KR site
