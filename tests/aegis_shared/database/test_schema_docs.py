"""Markdown docs list every table and reference; the ERD is valid Mermaid ``erDiagram`` syntax."""

from __future__ import annotations

import re

from aegis_shared.database import SchemaRegistry
from aegis_shared.database.schema_docs import to_markdown, to_mermaid

# The subset of Mermaid's erDiagram grammar (mermaid/src/diagrams/er/parser/erDiagram.jison) we
# emit: entity blocks of "type name [keys] ["comment"]" attributes, and relationships written as
# <entity> <left cardinality><--|..><right cardinality> <entity> : <label>.
_ENTITY_OPEN = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_-]*)\s*\{\s*$")
_ATTRIBUTE = re.compile(
    r"^\s*(?P<type>[A-Za-z_][A-Za-z0-9_\-\[\]()]*)\s+(?P<name>[A-Za-z_*][A-Za-z0-9_\-\[\]()]*)"
    r'(?:\s+(?P<keys>(?:PK|FK|UK)(?:\s*,\s*(?:PK|FK|UK))*))?(?:\s+"[^"]*")?\s*$'
)
_RELATION = re.compile(
    r"^\s*(?P<left>[A-Za-z_][A-Za-z0-9_-]*)\s+(?P<l>\|o|\|\||\}o|\}\|)(?:--|\.\.)(?P<r>o\||\|\||o\{|\|\{)\s+"
    r'(?P<right>[A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(?P<label>"[^"]*"|[A-Za-z_][A-Za-z0-9_]*)\s*$'
)


def parse_er_diagram(text: str) -> tuple[dict[str, list[tuple[str, str, str]]], list[tuple[str, str, str]]]:
    """Parse the erDiagram subset; raises AssertionError naming the first invalid line."""
    lines = [line for line in text.splitlines() if line.strip() and not line.strip().startswith("%%")]
    assert lines[0].strip() == "erDiagram", lines[0]
    entities: dict[str, list[tuple[str, str, str]]] = {}
    relations: list[tuple[str, str, str]] = []
    current: str | None = None
    for number, line in enumerate(lines[1:], start=2):
        if current is not None:
            if line.strip() == "}":
                current = None
                continue
            match = _ATTRIBUTE.match(line)
            assert match, f"line {number}: invalid attribute {line!r}"
            entities[current].append((match["type"], match["name"], match["keys"] or ""))
        elif match := _ENTITY_OPEN.match(line):
            current = match["name"]
            assert current not in entities, f"line {number}: entity {current} declared twice"
            entities[current] = []
        elif match := _RELATION.match(line):
            relations.append((match["left"], match["right"], match["label"].strip('"')))
        else:
            raise AssertionError(f"line {number}: not erDiagram syntax: {line!r}")
    assert current is None, "unclosed entity block"
    return entities, relations


def test_erd_is_valid_mermaid_with_every_table_and_reference() -> None:
    registry = SchemaRegistry.load()
    entities, relations = parse_er_diagram(to_mermaid(registry))
    assert set(entities) == set(registry.names)
    for table in registry:
        assert [name for _, name, _ in entities[table.name]] == [c.name for c in table.columns]
    expected = {(r.table, t.name, r.foreign_key) for t in registry for r in t.references}
    assert set(relations) == expected and len(relations) == len(expected)
    assert ("bigserial", "id", "PK") in entities["raw_announcements"]
    assert ("double_precision", "quality_score", "") in entities["policies"]
    assert ("text_array", "region_codes", "") in entities["policies"]
    assert ("uuid", "created_by", "FK") in entities["policies"]


def test_erd_cardinality_follows_nullability() -> None:
    text = to_mermaid(SchemaRegistry.load())
    assert 'users ||--o{ applications : "user_id"' in text  # NOT NULL foreign key
    assert 'users |o--o{ applications : "reviewed_by"' in text  # nullable foreign key


def test_the_grammar_check_rejects_broken_diagrams() -> None:
    for broken in (
        "graph TD\n  a --> b\n",
        "erDiagram\n  users {\n    DOUBLE PRECISION score\n  }\n",
        "erDiagram\n  users {\n    uuid id PK\n",
        "erDiagram\n  users --> policies : x\n",
    ):
        try:
            parse_er_diagram(broken)
        except AssertionError:
            continue
        raise AssertionError(f"accepted invalid diagram: {broken!r}")


def test_markdown_lists_every_table_and_reference() -> None:
    registry = SchemaRegistry.load()
    text = to_markdown(registry)
    for table in registry:
        assert f"\n## {table.name}\n" in text
        assert f"**Owner:** {table.owner}" in text
        for reference in table.references:
            assert f"`{reference.foreign_key}` → `{reference.table}.{reference.column}`" in text
        for index in table.indexes:
            assert f"`{index.name}`" in text
    assert text == to_markdown(registry)  # deterministic, diffable
    assert "ON DELETE SET NULL" in text and "| region_codes | TEXT[] | no |" in text
