"""Safe file names and MIME types for the attachments Korean programmes publish.

Attachments arrive as ``공고문.hwp``, ``신청서.hwpx`` and PDFs, named by whoever uploaded them:
names decomposed by macOS (NFD jamo that look identical but compare unequal), with path parts
(``../../etc/passwd``), control and bidi characters (``invoice<U+202E>fdp.exe`` shows as
``invoiceexe.pdf``), or too long once Hangul's three UTF-8 bytes per syllable are counted.
:func:`safe_filename` makes a name safe to write on any file system and to send in a header;
:func:`guess_mime` knows the Hancom formats the standard table lacks; :func:`check_content`
refuses a file whose bytes are not what its extension claims.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from pathlib import PurePath

from aegis_shared.errors import ValidationError

MAX_NAME_BYTES = 255  # ext4, APFS and NTFS limits, counted in UTF-8 bytes

# Hancom's word processor formats, used by nearly every Korean public notice; the standard
# table knows neither. HWPX (KS X 6101, OWPML) is a ZIP whose first entry names this type.
_EXTRA_TYPES = {
    ".hwp": "application/x-hwp",
    ".hwpx": "application/hwp+zip",
    ".hwt": "application/x-hwt",
}
_RESERVED = re.compile(r'[<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
# Names Windows maps to devices whatever their extension.
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
)

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # HWP 5, and the old MS Office formats
_ZIP = b"PK\x03\x04"
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"HWP Document File", "application/x-hwp"),  # HWP 3.0
    (_OLE2, "application/x-ole-storage"),
    (_ZIP, "application/zip"),
)
# Types whose files are OLE2 or ZIP containers, so either container signature is consistent.
_OLE2_TYPES = frozenset(
    {"application/x-hwp", "application/x-hwt", "application/msword", "application/vnd.ms-excel"}
)
_ZIP_TYPES_PREFIX = (
    "application/vnd.openxmlformats-officedocument.",
    "application/hwp+zip",
    "application/zip",
)


def safe_filename(name: str, *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """``name`` reduced to a safe base name: NFC Hangul, no directories, control, bidi or reserved
    characters, no leading dots, no Windows device names, at most ``max_bytes`` UTF-8 bytes with the
    extension kept. Raises ``VALID_3023`` when nothing usable is left."""
    text = unicodedata.normalize("NFC", name)
    text = re.split(r"[/\\]", text)[-1]
    # Whitespace (tabs, newlines) becomes a space first, so words stay apart once controls go.
    text = _SPACES.sub(" ", text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    text = _SPACES.sub(" ", _RESERVED.sub("_", text)).strip(" .")
    if not text.strip("_ "):
        raise ValidationError(
            "VALID_3023", "file name is empty once path parts and unsafe characters are removed"
        )
    path = PurePath(text)
    stem, suffix = path.stem, path.suffix
    if stem.upper() in _DEVICE_NAMES:
        stem = f"_{stem}"
    if len(suffix.encode("utf-8")) > max_bytes // 2:
        stem, suffix = stem + suffix, ""
    budget = max_bytes - len(suffix.encode("utf-8"))
    # Cut whole characters, never a syllable's bytes in half.
    encoded = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip(" .")
    if not encoded:
        raise ValidationError("VALID_3023", "file name leaves no room for a name before its extension")
    return encoded + suffix


def guess_mime(filename: str) -> str:
    """The MIME type for ``filename``'s extension, Hancom formats included;
    ``application/octet-stream`` when unknown."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in _EXTRA_TYPES:
        return _EXTRA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(f"x{suffix}", strict=False)
    return guessed or "application/octet-stream"


def sniff_mime(data: bytes) -> str | None:
    """The type the first bytes of ``data`` announce, or ``None`` for none we know (plain text)."""
    if data.startswith(_ZIP) and b"mimetypeapplication/hwp+zip" in data[:128]:
        return "application/hwp+zip"
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    return None


def check_content(filename: str, data: bytes) -> str:
    """The MIME type of an upload whose bytes agree with its extension; ``VALID_3026`` otherwise.

    Container formats are checked by container: an ``.hwp`` must be OLE2 (or HWP 3.0), an
    ``.hwpx`` or ``.docx`` a ZIP. Extensions we hold no signature for (``.txt``, ``.csv``) must
    not carry one of a binary format either: a PDF renamed ``.txt`` is refused too.
    """
    claimed = guess_mime(filename)
    found = sniff_mime(data)
    if found == claimed:
        return claimed
    if found == "application/x-ole-storage" and claimed in _OLE2_TYPES:
        return claimed
    if found in ("application/zip", "application/hwp+zip") and claimed.startswith(_ZIP_TYPES_PREFIX):
        return claimed
    if found is None and not _has_signature(claimed):
        return claimed
    raise ValidationError(
        "VALID_3026",
        f"file content is {found or 'not a known binary format'} but its extension says {claimed}",
        details={"claimed": claimed, "found": found},
    )


def _has_signature(mime: str) -> bool:
    return (
        any(mime == known for _, known in _SIGNATURES)
        or mime in _OLE2_TYPES
        or mime.startswith(_ZIP_TYPES_PREFIX)
    )
