"""Markdown documentation and a Mermaid ER diagram generated from the schema registry.

Both outputs are deterministic (no timestamps, tables and relations sorted) so they can be
committed and diffed.
"""

from __future__ import annotations

import re

from aegis_shared.database.schema_registry import SchemaRegistry
from aegis_shared.database.table_schema import TableSchema


def _cell(text: object) -> str:
    # Pipes and newlines would break a Markdown table row.
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(registry: SchemaRegistry) -> str:
    """Every table with owner, version, columns, references, indexes and dependent services."""
    lines = ["# Database schema", "", f"{len(registry)} tables, in migration order:", ""]
    order = registry.migration_order()
    lines += [f"{i}. [{name}](#{name})" for i, name in enumerate(order, start=1)]
    for name in order:
        table = registry.get(name)
        lines += ["", f"## {name}", ""]
        if table.description:
            lines += [table.description, ""]
        lines += [
            f"- **Owner:** {table.owner}",
            f"- **Version:** {table.version}",
            f"- **Depends on:** {', '.join(registry.dependencies(name)) or '-'}",
            f"- **Dependent services:** {', '.join(registry.dependent_services(name)) or '-'}",
            "",
            "### Columns",
            "",
            "| Name | Type | Nullable | Key | Default | Description |",
            "|------|------|----------|-----|---------|-------------|",
        ]
        for column in table.columns:
            lines.append(
                f"| {column.name} | {_cell(column.type)} | {'yes' if column.is_nullable else 'no'} "
                f"| {', '.join(_keys(table, column.name)) or '-'} | {_cell(column.default_sql or '-')} "
                f"| {_cell(column.description or '')} |"
            )
        lines += ["", "### References", ""]
        if table.references:
            lines += [
                f"- `{ref.foreign_key}` → `{ref.table}.{ref.column}` "
                f"(ON DELETE {ref.on_delete.value}, ON UPDATE {ref.on_update.value})"
                for ref in table.references
            ]
        else:
            lines.append("- none")
        lines += ["", "### Indexes", ""]
        if table.indexes:
            lines += [
                f"- `{index.name}` ({', '.join(index.columns)}){' unique' if index.unique else ''}"
                for index in table.indexes
            ]
        else:
            lines.append("- none")
        if table.version_history:
            lines += ["", "### Version history", ""]
            lines += [
                f"- {entry.version} ({entry.date.isoformat()}): {entry.changes}"
                for entry in table.version_history
            ]
    return "\n".join(lines) + "\n"


def _keys(table: TableSchema, column: str) -> list[str]:
    keys = []
    if table.column(column).primary_key:
        keys.append("PK")
    if any(ref.foreign_key == column for ref in table.references):
        keys.append("FK")
    if table.column(column).unique and not table.column(column).primary_key:
        keys.append("UK")
    return keys


def _mermaid_type(type_text: str) -> str:
    # Mermaid attribute types are single words; "DOUBLE PRECISION" or "NUMERIC(15,2)" are not.
    word = re.sub(r"\[\]", "_array", type_text.lower())
    word = re.sub(r"[^a-z0-9_]+", "_", word).strip("_")
    return word or "unknown"


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'").replace("\n", " ") + '"'


def to_mermaid(registry: SchemaRegistry) -> str:
    """A Mermaid ``erDiagram`` with every table, its columns and one relation per reference."""
    lines = ["erDiagram"]
    for table in registry:
        lines.append(f"    {table.name} {{")
        for column in table.columns:
            keys = _keys(table, column.name)
            key_text = f" {','.join(keys)}" if keys else ""
            lines.append(f"        {_mermaid_type(column.type)} {column.name}{key_text}")
        lines.append("    }")
    for table in registry:
        for ref in table.references:
            local = table.column(ref.foreign_key)
            # Left side: the referenced row exists exactly once, or at most once if nullable.
            left = "|o" if local.is_nullable else "||"
            # Right side: one referenced row has zero or one (unique FK) or zero or more rows.
            right = "o|" if table.is_unique_key([ref.foreign_key]) else "o{"
            lines.append(f"    {ref.table} {left}--{right} {table.name} : {_quote(ref.foreign_key)}")
    return "\n".join(lines) + "\n"
