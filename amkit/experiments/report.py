"""What every generated results page shares."""

from __future__ import annotations

from typing import Any


def finish_page(lines: list[str], results: dict[str, Any]) -> str:
    """The page text: ``lines``, then the JSON twin's ``notes`` (if any) under "Notes"."""
    if results.get("notes"):
        lines = [*lines, "", "## Notes", "", *results["notes"]]
    return "\n".join(lines) + "\n"
