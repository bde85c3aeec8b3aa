"""Safe file names and MIME checks for the attachments Korean notices carry."""

from __future__ import annotations

import io
import unicodedata
import zipfile

import pytest

from aegis_shared.errors import AegisError
from aegis_shared.utils import check_content, guess_mime, safe_filename, sniff_mime

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def _hwpx() -> bytes:
    # HWPX is a ZIP whose first entry, stored uncompressed, is its MIME type (as in ODF).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/hwp+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("Contents/section0.xml", "<hs:sec/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2026년 창업지원 공고문.hwp", "2026년 창업지원 공고문.hwp"),
        (unicodedata.normalize("NFD", "신청서.hwpx"), "신청서.hwpx"),  # from a Mac: composed again
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\담당자\\붙임1. 신청서.hwp", "붙임1. 신청서.hwp"),
        ("신청서\u202eexe.pdf", "신청서exe.pdf"),  # a bidi override that would show it as ...fdp.exe
        ('사업계획서: "최종"?.hwp', "사업계획서_ _최종__.hwp"),
        ("  .숨김파일.pdf  ", "숨김파일.pdf"),
        ("CON.hwp", "_CON.hwp"),
        ("제출\t서류\n목록.pdf", "제출 서류 목록.pdf"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_long_hangul_names_are_cut_by_bytes_on_a_syllable_boundary() -> None:
    name = "중소기업창업지원사업" * 20 + ".hwp"  # 200 syllables: 600 bytes in UTF-8
    safe = safe_filename(name)
    assert safe.endswith(".hwp") and len(safe.encode("utf-8")) <= 255
    assert safe.startswith("중소기업창업지원사업") and unicodedata.is_normalized("NFC", safe)
    assert len(safe_filename(name, max_bytes=20).encode("utf-8")) <= 20


@pytest.mark.parametrize("name", ["../..", "  ", "\u202e\u200b", "///"])
def test_names_with_nothing_left_are_refused(name: str) -> None:
    with pytest.raises(AegisError) as caught:
        safe_filename(name)
    assert caught.value.code == "VALID_3023"


def test_mime_types_include_hancom_formats() -> None:
    assert guess_mime("공고문.HWP") == "application/x-hwp"
    assert guess_mime("신청서.hwpx") == "application/hwp+zip"
    assert guess_mime("안내.pdf") == "application/pdf"
    assert guess_mime("목록.xlsx").startswith("application/vnd.openxmlformats-officedocument")
    assert guess_mime("무엇.zzz") == "application/octet-stream"


def test_content_is_checked_against_the_extension() -> None:
    assert sniff_mime(_hwpx()) == "application/hwp+zip"
    assert check_content("신청서.hwpx", _hwpx()) == "application/hwp+zip"
    assert check_content("공고문.hwp", OLE2) == "application/x-hwp"
    assert check_content("공고문.hwp", b"HWP Document File V3.00 \x1a\x01\x02") == "application/x-hwp"
    assert check_content("안내.pdf", PDF) == "application/pdf"
    assert check_content("목록.csv", "사업명,마감일\n".encode()) == "text/csv"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("안내.pdf", b"MZ\x90\x00\x03"),  # a Windows executable renamed
        ("공고문.hwp", PDF),
        ("신청서.hwpx", OLE2),
        ("안내.pdf", b""),
        ("목록.txt", PDF),
    ],
)
def test_content_that_contradicts_the_extension_is_refused(name: str, data: bytes) -> None:
    with pytest.raises(AegisError) as caught:
        check_content(name, data)
    assert caught.value.code == "VALID_3026"
    assert caught.value.details["claimed"] == guess_mime(name)
