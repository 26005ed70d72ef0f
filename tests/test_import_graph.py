"""No rsmlib module imports another that imports it back (issue 16), read from the source:
every `import rsmlib.x` / `from rsmlib.x import ...` / `from rsmlib import x`, at the top of
a module or inside a function, is an edge; the graph must have no cycle."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rsmlib"
MODULES = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {"ops"}

# none: the checkpoint helpers that training and dlgm share are their own module
# (rsmlib.checkpoints), so training -> keras -> dlgm no longer leads back to training
KNOWN: set[frozenset[str]] = set()


def edges(path):
    """The rsmlib modules that the module at ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "rsmlib" and len(parts) > 1 and parts[1] in MODULES:
                found.add(parts[1])
            elif parts[0] == "rsmlib" and (len(parts) == 1 or parts[1] not in MODULES):
                found.add("__init__")   # the package (or a name it defines)
    return found


def graph():
    return {p.stem: edges(p) - {p.stem} for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def cycles(g):
    """Each set of modules that import each other (strongly connected, size > 1)."""
    index, low, stack, found, counter = {}, {}, [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back():
    g = graph()
    assert "partition" in g["rsm"] and "rsm" not in g["partition"]    # issue 16's circle
    assert "rsm" in g["ais"]
    assert not any("__init__" in targets for targets in g.values()), \
        "a module imports the package itself"
    assert set(cycles(g)) <= KNOWN, cycles(g)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]
    assert cycles({"a": {"b"}, "b": set()}) == []
