"""nbval's markers as cell tags, not as comments a reader sees in the book.

    python tools/nbval_tags.py [--check] [NOTEBOOK ...]      (default: chapters/*.ipynb)

nbval reads a cell's instruction either from a comment line (``# NBVAL_IGNORE_OUTPUT``) or from
a cell tag (``nbval-ignore-output``). The comment shows in the rendered chapter; the tag does not.
This rewrites every code cell whose source has a line ``# NBVAL_<MARKER>`` (any of nbval's
markers: IGNORE_OUTPUT, CHECK_OUTPUT, RAISES_EXCEPTION, SKIP): the line goes, the tag
``nbval-<marker>`` (lower case, ``-`` for ``_``) joins the cell's tags, and any explanation after
the marker (``# NBVAL_IGNORE_OUTPUT  (timings vary)``) is kept, out of the reader's way, in the
cell's metadata as ``nbval-reason``. Outputs are not touched, so the notebook needs no
re-execution. Running it again changes nothing. ``--check`` changes nothing and exits with 1,
naming the cells, if any marker comment is left.

nbval 0.11 honours a comment only when the whole comment is the marker: a line with an
explanation after it is ignored by nbval today (the cell's output IS compared). Such lines are
reported ("not honoured by nbval today"), since their cells start being ignored once tagged.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MARKERS = ("IGNORE_OUTPUT", "CHECK_OUTPUT", "RAISES_EXCEPTION", "SKIP")
MARKER_LINE = re.compile(r"^\s*#\s*NBVAL_(?P<marker>[A-Z_]+)\b(?P<rest>.*)$")
REASON_KEY = "nbval-reason"


def tag_of(marker: str) -> str:
    """'IGNORE_OUTPUT' -> 'nbval-ignore-output' (nbval's tag for the marker)."""
    return "nbval-" + marker.lower().replace("_", "-")


def convert_source(source: str) -> tuple[str, list[tuple[str, str]]]:
    """(source without marker lines, [(marker, explanation)]) for one cell's source.

    Raises ValueError for an ``NBVAL_`` marker that nbval does not know (a typo would otherwise
    silently become a tag nbval ignores).
    """
    kept, found = [], []
    for line in source.splitlines(keepends=True):
        match = MARKER_LINE.match(line.rstrip("\n"))
        if match is None:
            kept.append(line)
            continue
        marker = match["marker"]
        if marker not in MARKERS:
            raise ValueError(f"unknown nbval marker NBVAL_{marker} (nbval knows "
                             f"{', '.join('NBVAL_' + m for m in MARKERS)})")
        reason = match["rest"].strip()
        if reason.startswith("(") and reason.endswith(")"):
            reason = reason[1:-1].strip()
        found.append((marker, reason))
    text = "".join(kept)
    if found and text.endswith("\n") and not source.endswith("\n"):
        text = text[:-1]  # the marker was the last line: no trailing newline left behind
    return text, found


def convert_notebook(notebook) -> list[str]:
    """Convert marker comments to tags in place; one description per converted marker."""
    changes = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        source, found = convert_source(cell.source)
        if not found:
            continue
        cell.source = source
        tags = cell.metadata.setdefault("tags", [])
        for marker, reason in found:
            tag = tag_of(marker)
            if tag not in tags:
                tags.append(tag)
            if reason:
                cell.metadata[REASON_KEY] = reason
            note = " (not honoured by nbval today: text after the marker)" if reason else ""
            changes.append(f"cell {index}: # NBVAL_{marker} -> tag {tag}{note}")
    return changes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to convert (default: chapters/*.ipynb)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if any NBVAL_ comment is left")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    left = 0
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        try:
            changes = convert_notebook(notebook)
        except ValueError as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
        for change in changes:
            print(f"{path}: {change}")
        left += len(changes)
        if changes and not args.check:
            nbformat.write(notebook, path)
    if args.check and left:
        print(f"{left} NBVAL_ comment(s) left: run python tools/nbval_tags.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
