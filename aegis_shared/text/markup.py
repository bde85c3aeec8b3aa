"""HTML and entity-escaped text → plain text.

Source summaries arrive as HTML, sometimes entity-escaped once more (``&lt;p&gt;``), with script
handlers and CRLFs. Stored text is plain: tags stripped, entities unescaped, whitespace collapsed.
"""

from __future__ import annotations

import html
import re

from selectolax.lexbor import LexborHTMLParser

_TAG_HINT = re.compile(r"<[a-zA-Z/!]")
_ENTITY_HINT = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")
_WHITESPACE = re.compile(r"\s+")
# Block-level tags whose boundaries are word boundaries in the plain text.
_BLOCK_TAGS = (
    "p",
    "div",
    "br",
    "li",
    "tr",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "ul",
    "ol",
)


def unescape_entities(text: str, *, max_rounds: int = 3) -> str:
    """Unescape HTML entities repeatedly, for doubly escaped fields (``&amp;lt;`` → ``<``)."""
    for _ in range(max_rounds):
        if not _ENTITY_HINT.search(text):
            break
        text = html.unescape(text)
    return text


def collapse_whitespace(text: str) -> str:
    """Collapse runs of whitespace (CRLF, tabs, NBSP) into single spaces and trim."""
    return _WHITESPACE.sub(" ", text.replace("\xa0", " ")).strip()


def html_to_text(value: str | None) -> str | None:
    """Return ``value`` as plain text, or ``None`` when nothing but markup or blanks remain."""
    if value is None:
        return None
    text = unescape_entities(value)
    if _TAG_HINT.search(text):
        tree = LexborHTMLParser(text)
        # Scripts and styles are code, not content.
        for node in tree.css("script, style"):
            node.decompose()
        for tag in _BLOCK_TAGS:
            for node in tree.css(tag):
                node.insert_before(" ")
                node.insert_after(" ")
        root = tree.body or tree.root
        text = root.text(separator="") if root is not None else ""
        # Text nodes can still hold entities the parser left alone in odd markup.
        text = html.unescape(text)
    text = collapse_whitespace(text)
    return text or None
