"""The snapshot generator (``tools/snapshot``): regenerating is byte-identical, and its quirk table
says what the bundled snapshot holds."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from aegis_orchestration.sources.snapshot import load_pages
from tools.snapshot.quirks import COUNTS, QUIRKS, SHARED, has, quirks_of

REPO = Path(__file__).resolve().parents[2]
BUNDLED = Path(str(resources.files("aegis_orchestration.sources.snapshot")))


def data_files(root: Path) -> dict[str, bytes]:
    """Every generated file under ``root`` by relative path (the package's own modules aside)."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts
    }


def test_regenerating_into_a_new_folder_is_byte_identical_to_the_bundled_snapshot(tmp_path: Path) -> None:
    out = tmp_path / "fresh"  # created by the tool
    run = subprocess.run(
        [sys.executable, "-m", "tools.snapshot.generate", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    fresh, bundled = data_files(out), data_files(BUNDLED)
    assert bundled, "the bundled snapshot is missing"
    assert sorted(fresh) == sorted(bundled)
    assert [name for name in bundled if fresh[name] != bundled[name]] == []


def test_the_generator_needs_an_output_folder() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tools.snapshot.generate"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2 and "output" in run.stderr


@pytest.mark.parametrize("source", sorted(COUNTS))
def test_each_quirk_is_carried_and_exactly_the_rejecting_ones_are_rejected(source: str) -> None:
    for quirk in quirks_of(source):
        assert quirk.positions(COUNTS[source]), f"{source} {quirk.name} is carried by no item"
    expected = Counter(
        quirk.rejects for quirk in quirks_of(source) if quirk.rejects for _ in quirk.positions(COUNTS[source])
    )
    pages = load_pages(source)
    assert Counter(r.code for p in pages for r in p.rejected) == expected
    assert sum(p.item_count for p in pages) == COUNTS[source]  # nothing dropped


def test_each_shared_programme_is_announced_where_the_table_places_it() -> None:
    for source in ("bizinfo", "kstartup", "mss"):
        [quirk] = [q for q in quirks_of(source) if q.name == "shared-programme"]
        assert len(quirk.at) == len(SHARED)
        records = [r for p in load_pages(source) for r in p.records]
        for programme in SHARED:
            copies = [
                r
                for r in records
                if r.title.startswith(programme.title) and r.period_start == programme.start
            ]
            assert len(copies) == 1, (source, programme.title)


def test_rss_feeds_are_checked_by_position_within_a_feed() -> None:
    # The one quirk without a count of its own: it must still be found in the bundled feeds.
    [quirk] = quirks_of("rss")
    assert quirk.name == "region-prefix" and has("rss", "region-prefix", 0)
    records = [r for p in load_pages("rss") for r in p.records]
    assert any(r.region_codes for r in records)


def test_a_misspelt_quirk_name_is_an_error_not_a_quirk_never_applied() -> None:
    with pytest.raises(KeyError, match="no quirk named"):
        has("bizinfo", "blank-tilte", 37)
    assert has("bizinfo", "blank-title", 37) and not has("kstartup", "blank-title", 37)
    assert all(q.source in {*COUNTS, "rss"} for q in QUIRKS)
