"""Markdown reference of every registered error code, generated from the registry.

``docs/errors.md`` is produced by this module so the published table can never drift from the
codes the code actually raises. Regenerate with ``python -m aegis_shared.errors.docs``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from aegis_shared.errors.registry import ErrorCategory, ErrorDefinition, all_definitions

_CATEGORY_TITLES: dict[ErrorCategory, str] = {
    ErrorCategory.AUTH: "Authentication (AUTH_1xxx)",
    ErrorCategory.AUTHZ: "Authorization (AUTHZ_2xxx)",
    ErrorCategory.VALID: "Validation (VALID_3xxx)",
    ErrorCategory.DB: "Database (DB_4xxx)",
    ErrorCategory.EXT: "External services (EXT_5xxx)",
    ErrorCategory.BIZ: "Business rules (BIZ_6xxx)",
    ErrorCategory.SYS: "System (SYS_7xxx)",
    ErrorCategory.DP: (
        "Data pipeline (DP_1xxx collection, DP_2xxx validation, DP_3xxx sync, DP_4xxx processing)"
    ),
}

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
        "Generated from `aegis_shared/errors/registry.py` by `python -m aegis_shared.errors.docs`;",
        "do not edit by hand.",
        "",
    ]
    for category in ErrorCategory:
        rows = [d for d in defs if d.category is category]
        if not rows:
            continue
        lines += [
            f"## {_CATEGORY_TITLES.get(category, category.value)}",
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
