"""Decode source bodies: declared charset first, then sniffing, for EUC-KR/CP949 sources.

Older data-portal endpoints and local-government pages answer in EUC-KR (in practice CP949, its
superset) with or without declaring it. CP949 is tried before statistical detection because
short Korean bodies are often misdetected as other CJK encodings.
"""

from __future__ import annotations

import codecs
import re
from email.message import Message

from charset_normalizer import from_bytes

from aegis_shared.errors import ValidationError

# EUC-KR's common extension: every EUC-KR body decodes identically as CP949.
_ALIASES = {
    "euc-kr": "cp949",
    "euc_kr": "cp949",
    "euckr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ksc5601": "cp949",
}
MAX_CHAOS = 0.05
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9_.:-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


class CharsetError(ValidationError):
    """A body that no plausible charset decodes (DP_1007)."""

    default_code = "DP_1007"


def charset_from_content_type(content_type: str | None) -> str | None:
    """Return the ``charset`` parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return str(charset) if isinstance(charset, str) and charset else None


def _normalise(charset: str) -> str | None:
    name = _ALIASES.get(charset.strip().lower(), charset.strip().lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def sniff_charset(body: bytes) -> str | None:
    """Charset named inside the body: an XML declaration or an HTML ``<meta charset>``."""
    head = body[:2048]
    match = _XML_DECL.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Decode ``body`` by its declared charset, else its in-body declaration, else detection.

    Raises :class:`CharsetError` (DP_1007) when no candidate decodes the bytes.
    """
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict")
    candidates: list[str] = []
    for declared in (charset_from_content_type(content_type), sniff_charset(body)):
        if declared and (name := _normalise(declared)):
            candidates.append(name)
    candidates += ["utf-8", "cp949"]
    seen: set[str] = set()
    for name in candidates:
        if name in seen:
            continue
        seen.add(name)
        try:
            return body.decode(name)
        except UnicodeDecodeError:
            continue
    # Last resort for other encodings (UTF-16…); a noisy guess is worse than a clear error.
    best = from_bytes(body).best()
    if best is not None and best.encoding and best.chaos <= MAX_CHAOS:
        return str(best)
    raise CharsetError(details={"tried": sorted(seen), "length": len(body)})
