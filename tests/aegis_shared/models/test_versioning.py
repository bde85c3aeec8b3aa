"""SemVer, the deprecated decorator and the changelog."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

import aegis_shared
from aegis_shared.versioning import AegisDeprecationWarning, SemVer, deprecated, library_version

ROOT = Path(__file__).resolve().parents[3]


def test_library_version_is_semver() -> None:
    assert str(library_version()) == aegis_shared.__version__


def test_semver_parsing_and_compatibility() -> None:
    assert SemVer.parse("2.10.3") == SemVer(2, 10, 3)
    assert str(SemVer.parse("1.0.0-rc.1")) == "1.0.0-rc.1"
    for bad in ("1.0", "01.0.0", "v1.0.0", "1.0.0.0"):
        with pytest.raises(ValueError):
            SemVer.parse(bad)
    assert SemVer(1, 4, 0).is_compatible_with(SemVer(1, 2, 5))
    assert not SemVer(1, 1, 0).is_compatible_with(SemVer(1, 2, 0))
    assert not SemVer(2, 0, 0).is_compatible_with(SemVer(1, 0, 0))


def test_deprecated_function_warns_and_still_works() -> None:
    @deprecated("2.0.0", "use new_function instead")
    def old_function(x: int) -> int:
        return x + 1

    with pytest.warns(
        AegisDeprecationWarning, match=r"deprecated since 2\.0\.0 .* removed in 4\.0\.0: use new_function"
    ):
        assert old_function(1) == 2
    assert old_function.__name__ == "old_function"


async def test_deprecated_async_function_and_class() -> None:
    @deprecated("1.1.0", "use fetch_v2", removed_in="3.0.0")
    async def fetch() -> str:
        return "ok"

    @deprecated("1.1.0", "use NewClient")
    class OldClient:
        def __init__(self, url: str) -> None:
            self.url = url

    with pytest.warns(AegisDeprecationWarning, match="removed in 3.0.0"):
        assert await fetch() == "ok"
    with pytest.warns(AegisDeprecationWarning, match="OldClient"):
        assert OldClient("x").url == "x"
    assert issubclass(AegisDeprecationWarning, DeprecationWarning)


def test_deprecated_refuses_a_non_semver_version() -> None:
    with pytest.raises(ValueError):
        deprecated("2.0", "x")


def test_warning_points_at_the_caller() -> None:
    @deprecated("1.0.0", "x")
    def old() -> None: ...

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old()
    assert caught[0].filename == __file__


def test_changelog_records_the_current_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+[^\]]*)\] - (\d{4}-\d{2}-\d{2})$", text, flags=re.MULTILINE)
    assert releases, "no release headings"
    assert releases[0][0] == aegis_shared.__version__
    assert "## [Unreleased]" in text
    versions = [SemVer.parse(v) for v, _ in releases]
    assert versions == sorted(versions, reverse=True)
