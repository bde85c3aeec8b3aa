"""Field-level cleaning shared by every connector's item mapper."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from itertools import zip_longest
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from aegis_orchestration.sources.errors import RejectedRecordError
from aegis_shared.models import Attachment
from aegis_shared.text import collapse_whitespace, html_to_text, unescape_entities

_LIST_SEPARATORS = re.compile(r"[,ㆍ·・/]")


def text_or_none(value: Any) -> str | None:
    """Plain text of a field (HTML stripped, entities unescaped) or ``None`` when empty."""
    if value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    return html_to_text(value)


def required_text(value: Any, field: str) -> str:
    """Like :func:`text_or_none`, but a missing value rejects the item (DP_2005)."""
    text = text_or_none(value)
    if not text:
        raise RejectedRecordError(
            "DP_2005", f"required field {field!r} is missing or empty", details={"field": field}
        )
    return text


def required_id(value: Any, field: str) -> str:
    """A source's stable key as a string; numbers (K-Startup ``pbanc_sn``) are kept exact."""
    if isinstance(value, bool) or value is None:
        raise RejectedRecordError("DP_2005", f"required key {field!r} is missing", details={"field": field})
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = collapse_whitespace(str(value))
    if not text:
        raise RejectedRecordError("DP_2005", f"required key {field!r} is empty", details={"field": field})
    return text


def to_int(value: Any) -> int | None:
    """Numbers arrive as numbers or numeric strings (``"1,234"``); anything else is ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        digits = value.strip().replace(",", "")
        if digits.lstrip("-").isdigit():
            return int(digits)
    return None


def split_list(value: Any) -> list[str]:
    """Split a list field on the separators sources mix (``,``, ``ㆍ``, ``·``, ``/``)."""
    if value is None:
        return []
    if isinstance(value, list):
        parts: Iterable[Any] = value
    else:
        parts = _LIST_SEPARATORS.split(unescape_entities(str(value)))
    out: list[str] = []
    for part in parts:
        text = collapse_whitespace(str(part)) if part is not None else ""
        if text and text not in out:
            out.append(text)
    return out


def absolute_url(value: Any, base: str) -> str | None:
    """Make a published link usable: unescape ``&amp;``, add a missing scheme, resolve relatives."""
    text = text_or_none(value) if isinstance(value, str) else None
    if not text:
        return None
    text = unescape_entities(text).strip()
    if text.startswith("//"):
        return "https:" + text
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        return text
    if re.match(r"^(www\.|[a-z0-9-]+\.(go|or|co|re)\.kr)", text):
        return "https://" + text
    return urljoin(base, text)


def _name_from_url(url: str, index: int) -> str:
    name = posixpath.basename(unquote(urlsplit(url).path))
    return name or f"첨부파일{index + 1}"


def attachments(names: Any, urls: Any, *, base: str, separator: str = "@") -> list[Attachment]:
    """Pair attachment names with paths. Counts can differ, so pair by position and keep extras.

    A name without a path keeps ``url=None``; a path without a name is named after its file.
    """

    def parts(value: Any) -> list[str]:
        if value is None:
            return []
        raw = value if isinstance(value, list) else str(value).split(separator)
        return [collapse_whitespace(str(p)) for p in raw if p is not None and str(p).strip()]

    result: list[Attachment] = []
    for index, (name, url) in enumerate(zip_longest(parts(names), parts(urls))):
        link = absolute_url(url, base) if url else None
        label = unescape_entities(name) if name else _name_from_url(link or "", index)
        attachment = Attachment(name=label, url=link)
        if attachment not in result:
            result.append(attachment)
    return result
