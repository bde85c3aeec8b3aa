"""Markdown reference of every registered error code, generated from the registry.

``docs/errors.md`` is produced by this module so the published table can never drift from the
codes the code actually raises. Regenerate with ``python -m aegis_shared.errors.docs``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from aegis_shared.errors.registry import (
    CategoryDefinition,
    CodeRange,
    ErrorDefinition,
    all_definitions,
    category_definitions,
)


def _range_label(prefix: str, span: CodeRange) -> str:
    if span.first % 1000 == 0 and span.last == span.first + 999:
        label = f"{prefix}_{span.first // 1000}xxx"
    else:
        label = f"{prefix}_{span.first:04d}–{prefix}_{span.last:04d}"
    return f"{label} {span.family}" if span.family else label


def _title(category: CategoryDefinition) -> str:
    ranges = ", ".join(_range_label(category.category.value, r) for r in category.ranges)
    return f"{category.title} ({ranges})"


DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def _cell(text: str) -> str:
    """Escape a value for a Markdown table cell (pipes and newlines would break the row)."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(definitions: Iterable[ErrorDefinition] | None = None) -> str:
    """Render the error reference as Markdown, one table per category in registry order."""
    defs = tuple(definitions) if definitions is not None else all_definitions()
    lines = [
        "# Aegis error codes",
        "",
        "Generated from `aegis_shared/errors/codes.toml` by `python -m aegis_shared.errors.docs`;",
        "do not edit by hand.",
        "",
    ]
    for category in category_definitions():
        rows = [d for d in defs if d.category is category.category]
        if not rows:
            continue
        lines += [
            f"## {_title(category)}",
            "",
            "| Code | HTTP | Message | User message (ko) | Resolution |",
            "|------|------|---------|-------------------|------------|",
        ]
        lines += [
            f"| `{d.code}` | {d.http_status} | {_cell(d.message)} | {_cell(d.user_message)} "
            f"| {_cell(d.resolution)} |"
            for d in rows
        ]
        lines.append("")
    return "\n".join(lines)


def write_markdown(path: Path = DEFAULT_OUTPUT) -> Path:
    """Write the reference to ``path`` (creating its folder) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the error-code Markdown reference.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        return 0 if current == render_markdown() else 1
    print(write_markdown(args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
