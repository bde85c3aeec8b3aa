"""YAML loading that remembers where every value came from.

PyYAML silently keeps the last of two duplicate keys and drops line numbers once a document
is constructed. Schema errors must name the file and line, so this composes the node tree,
records the line of each path and reports duplicate keys, then constructs plain values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass(slots=True)
class LocatedDocument:
    """A constructed YAML document plus the 1-based line of each key path inside it."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path_, int]] = field(default_factory=list)

    def line_of(self, path: Iterable[str | int]) -> int | None:
        """Line of the deepest recorded prefix of ``path`` (pydantic locations may go deeper)."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)


def _walk(node: yaml.Node, path: Path_, doc: LocatedDocument) -> None:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                doc.duplicate_keys.append((child, key_node.start_mark.line + 1))
                continue
            seen.add(key)
            # A key's own line is the useful one to report, even when its value is a block below.
            doc.lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, doc)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), doc)


def load_located(text: str) -> LocatedDocument:
    """Parse one YAML document; raises ``yaml.YAMLError`` (which carries a mark) on bad syntax."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return LocatedDocument(data=None)
        doc = LocatedDocument(data=loader.construct_document(node))
        _walk(node, (), doc)
        return doc
    finally:
        loader.dispose()
