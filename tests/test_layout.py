"""Code and printed output fit the book's text column (issue 16).

The rendered code box is about 90 characters wide: a longer source line, or a longer line of
stored output (a ``[label] claim: True`` verdict), needs horizontal scrolling to be read. This
measures, per notebook, the lines a reader sees:

* code lines: the source of every code cell except those the book does not show (tags
  ``remove-cell``, ``remove-input``);
* output lines: stored stream output and plain-text results, except where the book shows an
  image or HTML instead, or the cell's output is removed (``remove-cell``, ``remove-output``).

``CODE_LIMIT`` and ``OUTPUT_LIMIT`` are the target (88 characters, as for the code we write);
``HARD_CODE_LIMIT`` (100) is the line no code cell may ever pass.
The code limits are enforced. The output limit is ``xfail(strict=False)`` per notebook until every
notebook is re-executed with the wrapped verdicts (a notebook that already meets it shows as
XPASS); then drop the marker (``LAYOUT_PENDING``).

The reading path (``test_no_plumbing_in_the_reading_path``): no chapter (01..05) shows, in a code
cell the reader sees (not ``remove-*``, ``hide-input`` or ``hide-cell``), a function whose name
says it is input validation (``check_*``, ``_check*``, ``validate*``) or checkpoint bookkeeping
(``*checkpoint*``, ``restore*``, ``resume*``): that plumbing belongs in an appendix notebook.
"""
from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
CODE_LIMIT = 88  # characters per code line the reader sees
OUTPUT_LIMIT = 88  # characters per stored output line the reader sees
HARD_CODE_LIMIT = 100  # COMMON.md: no code line beyond this, ever
HIDDEN_INPUT = {"remove-cell", "remove-input"}
HIDDEN_OUTPUT = {"remove-cell", "remove-output"}
LAYOUT_PENDING = pytest.mark.xfail(
    strict=False, reason="issue 16: the chapters' code and output lines are being reflowed to "
    "88 characters by their owners; remove this marker when test_layout.py reports none")


def text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def shown_lines(notebook: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """([(cell, code line)], [(cell, output line)]) that the rendered book shows."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code, output = [], []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if not tags & HIDDEN_INPUT:
            code += [(index, line) for line in text(cell.get("source")).splitlines()]
        if tags & HIDDEN_OUTPUT:
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                shown = text(out.get("text"))
            elif out.get("output_type") in ("execute_result", "display_data"):
                data = out.get("data", {})
                if any(k.startswith("image/") or k == "text/html" for k in data):
                    continue  # the book shows the picture or the HTML, not the text
                shown = text(data.get("text/plain"))
            elif out.get("output_type") == "error":
                shown = "\n".join(out.get("traceback", []))
            else:
                continue
            output += [(index, line) for line in shown.splitlines()]
    return code, output


def long_lines(lines: list[tuple[int, str]], limit: int) -> list[str]:
    return [f"cell {i}: {len(line)} chars: {line[:60]!r}..." for i, line in lines
            if len(line) > limit]


def report() -> str:
    rows = [f"{'notebook':32} {'code>88':>8} {'code>100':>9} {'longest':>8} "
            f"{'output>88':>10} {'longest':>8}"]
    for nb in NOTEBOOKS:
        code, output = shown_lines(nb)
        rows.append(f"{nb.name:32} {len(long_lines(code, CODE_LIMIT)):8d} "
                    f"{len(long_lines(code, HARD_CODE_LIMIT)):9d} "
                    f"{max((len(s) for _, s in code), default=0):8d} "
                    f"{len(long_lines(output, OUTPUT_LIMIT)):10d} "
                    f"{max((len(s) for _, s in output), default=0):8d}")
    return "\n".join(rows)


def failure(nb: Path, problems: list[str], what: str, limit: int) -> str:
    return (f"{nb.name}: {len(problems)} {what} lines over {limit} characters:\n  "
            + "\n  ".join(problems[:10]) + ("\n  ..." if len(problems) > 10 else ""))


def test_layout_report(capsys):
    """Always passes: prints the per-notebook counts (``pytest -s`` or the script shows them)."""
    assert NOTEBOOKS, "no chapters found"
    with capsys.disabled():
        print("\n" + report())


def test_long_lines_are_found(tmp_path):
    """The measurement itself: hidden cells and images do not count, long shown lines do."""
    cells = [
        {"cell_type": "code", "metadata": {}, "source": ["x = 1\n", "y" * 89],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["ok\n", "z" * 90]}]},
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source": ["w" * 200],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "w" * 200}]},
        {"cell_type": "code", "metadata": {"tags": ["remove-input"]}, "source": "v" * 200,
         "outputs": [{"output_type": "display_data", "data": {"image/png": "",
                                                              "text/plain": "u" * 200}}]},
        {"cell_type": "markdown", "metadata": {}, "source": "m" * 200},
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    code, output = shown_lines(path)
    assert [len(s) for _, s in code] == [5, 89]
    assert [len(s) for _, s in output] == [2, 90]
    assert len(long_lines(code, 88)) == 1 and not long_lines(code, 89)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_lines_within_hard_limit(nb):
    problems = long_lines(shown_lines(nb)[0], HARD_CODE_LIMIT)
    assert not problems, failure(nb, problems, "code", HARD_CODE_LIMIT)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_lines_fit_the_column(nb):
    problems = long_lines(shown_lines(nb)[0], CODE_LIMIT)
    assert not problems, failure(nb, problems, "code", CODE_LIMIT)


@LAYOUT_PENDING
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_output_lines_fit_the_column(nb):
    problems = long_lines(shown_lines(nb)[1], OUTPUT_LIMIT)
    assert not problems, failure(nb, problems, "output", OUTPUT_LIMIT)


if __name__ == "__main__":
    print(report())
    sys.exit(0)


# ------------------------------------------------------------------------------------------
# The reading path: a chapter's visible code is its mathematics, not plumbing (issue 16)

CHAPTERS = [nb for nb in NOTEBOOKS if nb.name[:2].isdigit()]  # 01..05; the appendices hold it
HIDDEN_FROM_READER = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
PLUMBING = re.compile(r"^(check_|_check|validate|_validate)|checkpoint|^_?(restore|resume)",
                      re.I)
# rsmlib.check_close is how the book states a claim ("How claims are checked", Chapter 1),
# not input validation: the one name the pattern matches that a chapter must show.
NOT_PLUMBING = {"check_close"}


def plumbing_definitions(notebook: Path) -> list[str]:
    """'cell i: def name' for each function (or method) a shown code cell defines whose name
    says it is input validation or checkpoint bookkeeping."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    found = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        if set(cell.get("metadata", {}).get("tags", [])) & HIDDEN_FROM_READER:
            continue
        # IPython magics and shell escapes are not Python
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                           for line in text(cell.get("source")).splitlines())
        for node in ast.walk(ast.parse(source)):
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and PLUMBING.search(node.name) and node.name not in NOT_PLUMBING):
                found.append(f"cell {index}: def {node.name}")
    return found


def test_plumbing_definitions_are_found(tmp_path):
    """The detector: shown validators and checkpoint helpers count; hidden cells, the check
    functions the book states its claims with, and the mathematics do not."""
    cells = [
        {"cell_type": "code", "metadata": {}, "source": "def check_units(x):\n    pass\n"},
        {"cell_type": "code", "metadata": {}, "source":
         "%matplotlib inline\nclass M:\n    def _check_shape(self):\n        pass\n"
         "    def validate_input(self):\n        pass\n"},
        {"cell_type": "code", "metadata": {}, "source":
         "def save_checkpoint(m):\n    pass\ndef restore_chains(m):\n    pass\n"},
        {"cell_type": "code", "metadata": {"tags": ["hide-input"]}, "source":
         "def check_counts(v):\n    pass\n"},
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source":
         "def resume_checkpoint(m):\n    pass\n"},
        {"cell_type": "code", "metadata": {}, "source":
         "def check_close(a, b):\n    pass\ndef free_energy(v):\n    pass\n"
         "def checked_sum(x):\n    pass\n"},
        {"cell_type": "markdown", "metadata": {}, "source": "def check_units(x): in prose"},
    ]
    path = tmp_path / "01_nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    assert plumbing_definitions(path) == [
        "cell 0: def check_units", "cell 1: def _check_shape", "cell 1: def validate_input",
        "cell 2: def save_checkpoint", "cell 2: def restore_chains"]


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_no_plumbing_in_the_reading_path(nb):
    found = plumbing_definitions(nb)
    assert not found, (f"{nb.name} shows plumbing in its reading path (move it to an appendix "
                       "notebook, or tag the cell hide-input):\n  " + "\n  ".join(found))
