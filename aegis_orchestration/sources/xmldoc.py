"""Safe XML parsing for source bodies (no entity expansion, no network)."""

from __future__ import annotations

import re

from lxml import etree

from aegis_orchestration.sources.errors import SourceError, excerpt

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def parse_xml(text: str, *, source: str) -> etree._Element:
    """Parse already-decoded XML text; a malformed or truncated body is DP_1004."""
    # lxml refuses str input that still declares an encoding; the text is decoded already.
    cleaned = _DECLARATION.sub("", text, count=1).strip()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        return etree.fromstring(cleaned.encode("utf-8"), parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(
            "DP_1004", f"malformed XML: {exc}", source=source, details={"excerpt": excerpt(text)}
        ) from exc


def child_text(element: etree._Element, tag: str) -> str | None:
    """Text (CDATA included) of the first child named ``tag``, or ``None``."""
    child = element.find(tag)
    if child is None:
        return None
    return "".join(child.itertext())


def children_text(element: etree._Element, tag: str) -> list[str]:
    """Texts of every child named ``tag`` (repeated elements such as ``fileName``)."""
    return ["".join(child.itertext()) for child in element.findall(tag)]
