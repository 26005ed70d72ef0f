"""No chapter types a verdict: every ``check(label, statement, passed)`` computes ``passed``.

A call such as ``check("2.3", "the gradient is right", True)`` prints ``[2.3] ...: True`` whatever the
code computed, so nbval and the ledger would keep accepting it when the claim became false. This test
parses the code cells of every chapter (with ``ast``) and fails on any call of ``check`` (or
``rsmlib.check``) whose ``passed`` argument, the third positional argument or the keyword ``passed``,
is a literal constant (``True``, ``1``, ``"yes"``, ``None``, ...) or a ``not`` of one, naming the
notebook, the cell and the label.
"""
import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def code_cells(path):
    """(cell index, source) of the code cells of a notebook, IPython magics blanked out."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            lines = ["" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines()]
            yield index, "\n".join(lines)


def is_literal(node):
    """True for a constant (or ``not``/unary minus of one, or a tuple/list of constants)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp):
        return is_literal(node.operand)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(is_literal(element) for element in node.elts)
    return False


def called_name(call):
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def literal_verdicts(source):
    """(line, label) of every ``check(...)`` call in ``source`` whose ``passed`` is a literal."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and called_name(node) == "check"):
            continue
        passed = node.args[2] if len(node.args) >= 3 else next(
            (k.value for k in node.keywords if k.arg == "passed"), None)
        if passed is not None and is_literal(passed):
            label = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) \
                else "?"
            found.append((node.lineno, label))
    return found


def test_the_parser_sees_every_chapter():
    assert len(CHAPTERS) >= 5, [p.name for p in CHAPTERS]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_no_check_has_a_literal_verdict(notebook):
    offending = [f"{notebook.name}, cell {index}, line {line}: check({label!r}, ..., <literal>)"
                 for index, source in code_cells(notebook)
                 for line, label in literal_verdicts(source)]
    assert not offending, "verdicts typed instead of computed:\n" + "\n".join(offending)


@pytest.mark.parametrize("source, expected", [
    ('check("1.1", "claim", True)', [(1, "1.1")]),
    ('check("1.1", "claim", passed=True, detail="x")', [(1, "1.1")]),
    ('rsmlib.check("2.1", "claim", 1)', [(1, "2.1")]),
    ('check("2.1", "claim", not False)', [(1, "2.1")]),
    ('x = 3\nif x:\n    check("3.1", "claim", True)', [(3, "3.1")]),
    ('check("1.1", "claim", err < 1e-6)', []),
    ('check("1.1", "claim", ok)', []),
    ('check_close("1.1", "claim", a, b, rtol=1e-6)', []),
])
def test_the_detector_catches_literal_verdicts_and_only_them(source, expected):
    assert literal_verdicts(source) == expected
