"""The reader's path, the cheap parts: the chapters' install cell, the extras it installs, Binder.

The end-to-end run (a fresh environment, the built wheel, Chapter 1 top to bottom) is
tests/e2e/test_reader_path_e2e.py; `make test` runs both, and `tools/install_cell.py --check`.
"""
from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import shutil
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import execute  # noqa: E402  (tools/execute.py)
import install_cell  # noqa: E402  (tools/install_cell.py)

CHAPTER_1 = ROOT / "chapters" / "01_energy_models.ipynb"
VERSION = install_cell.read_version(ROOT / "rsmlib" / "__init__.py")


def extras(name: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["optional-dependencies"][name]]


def requirement_lines(path: Path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [Requirement(line) for line in lines if line]


def pins(requirements) -> dict[str, str]:
    """{normalized name: exact version} of requirements pinned with ==."""
    found = {}
    for r in requirements:
        (spec,) = r.specifier
        assert spec.operator == "==", f"{r} is not pinned exactly"
        found[re.sub(r"[-_.]+", "-", r.name).lower()] = spec.version
    return found


def run_cell(source: str, *, rsmlib_missing: bool, source_env: str | None, monkeypatch):
    """Run the install cell in an in-process IPython shell; return (stdout, pip magic calls)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    calls = []
    monkeypatch.setattr(shell, "run_line_magic",
                        lambda name, line, *a, **k: calls.append((name, shell.var_expand(line))))
    real_find_spec = importlib.util.find_spec
    if rsmlib_missing:
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name == "rsmlib" else real_find_spec(name, *a))
    if source_env is None:
        monkeypatch.delenv("RSMLIB_SOURCE", raising=False)
    else:
        monkeypatch.setenv("RSMLIB_SOURCE", source_env)
    with capture_output() as captured:
        result = shell.run_cell(source, store_history=False)
    return captured.stdout + captured.stderr, calls, result


# ------------------------------------------------------------------------------------------
# The install cell


def test_cell_does_nothing_and_prints_nothing_where_rsmlib_is_installed(monkeypatch):
    source = install_cell.cell_source("https://example.org/org/book", VERSION)
    output, calls, result = run_cell(source, rsmlib_missing=False, source_env=None,
                                     monkeypatch=monkeypatch)
    assert result.success and output == "" and calls == []


def test_cell_installs_the_release_from_the_setting(monkeypatch):
    source = install_cell.cell_source("https://example.org/org/book/", VERSION)
    output, calls, result = run_cell(source, rsmlib_missing=True, source_env=None,
                                     monkeypatch=monkeypatch)
    assert result.success, result.error_in_exec
    assert calls == [("pip", f'install --quiet "rsmlib[book] @ '
                             f'git+https://example.org/org/book@v{VERSION}"')]


def test_cell_location_override(monkeypatch):
    source = install_cell.cell_source("", VERSION)
    _, calls, result = run_cell(source, rsmlib_missing=True, source_env="file:///w/rsmlib.whl",
                                monkeypatch=monkeypatch)
    assert result.success
    assert calls == [("pip", 'install --quiet "rsmlib[book] @ file:///w/rsmlib.whl"')]


def test_cell_without_setting_or_override_says_what_to_do(monkeypatch):
    source = install_cell.cell_source("", VERSION)
    _, calls, result = run_cell(source, rsmlib_missing=True, source_env=None,
                                monkeypatch=monkeypatch)
    assert calls == []
    assert isinstance(result.error_in_exec, ModuleNotFoundError)
    message = str(result.error_in_exec)
    assert "repository.url is unset" in message and "RSMLIB_SOURCE" in message


def test_setting_must_be_a_url(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: github.com/org/book\n")
    with pytest.raises(SystemExit, match="must be a URL"):
        install_cell.read_setting(config)
    config.write_text("repository:\n  url: ''\n")
    assert install_cell.read_setting(config) == ""


def code_counts(notebook):
    return [c.execution_count for c in notebook.cells if c.cell_type == "code"]


def test_insert_keeps_the_notebook_executed_top_to_bottom(tmp_path):
    copy = tmp_path / CHAPTER_1.name
    shutil.copy(CHAPTER_1, copy)
    before = nbformat.read(copy, as_version=4)
    had_cell = install_cell.find_cell(before) is not None
    assert install_cell.main([str(copy)]) == 0
    after = nbformat.read(copy, as_version=4)
    code = [c for c in after.cells if c.cell_type == "code"]
    assert install_cell.MARKER in code[0].source and code[0].outputs == []
    assert code[0].metadata["tags"] == ["remove-cell"]
    assert code_counts(after) == list(range(1, len(code) + 1))
    for cell in code:  # execute_result outputs carry the count of their cell
        for output in cell.outputs:
            if "execution_count" in output:
                assert output["execution_count"] == cell.execution_count
    others = [c for c in after.cells if install_cell.MARKER not in c.source]
    assert len(others) == len(before.cells) - had_cell
    assert [c.source for c in others] == [c.source for c in before.cells
                                          if install_cell.MARKER not in c.source]
    assert install_cell.main(["--check", str(copy)]) == 0
    text = copy.read_text(encoding="utf-8")
    assert install_cell.main([str(copy)]) == 0 and copy.read_text(encoding="utf-8") == text


def test_check_fails_when_the_setting_changes(tmp_path, capsys):
    copy = tmp_path / CHAPTER_1.name
    shutil.copy(CHAPTER_1, copy)
    install_cell.main([str(copy)])
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://example.org/org/book\n")
    assert install_cell.main(["--check", "--config", str(config), str(copy)]) == 1
    assert "differs from the one _config.yml gives" in capsys.readouterr().out
    install_cell.main(["--config", str(config), str(copy)])  # update in place
    notebook = nbformat.read(copy, as_version=4)
    assert "git+https://example.org/org/book@v" in notebook.cells[install_cell.find_cell(notebook)].source
    assert code_counts(notebook) == list(range(1, len(code_counts(notebook)) + 1))
    assert install_cell.main(["--check", "--config", str(config), str(copy)]) == 0


def test_unexecuted_notebook_gets_an_unnumbered_cell(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"),
                                               nbformat.v4.new_code_cell("x = 1")])
    assert install_cell.apply(notebook, "# Written by tools/install_cell.py")
    assert [c.cell_type for c in notebook.cells] == ["markdown", "code", "code"]
    assert code_counts(notebook) == [None, None]


# ------------------------------------------------------------------------------------------
# What the cell installs, and the other environments


def third_party_imports(path: Path) -> set[str]:
    """Top-level modules imported by the notebook's code cells, less the stdlib and rsmlib."""
    names = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or install_cell.MARKER in cell.source:
            continue
        code = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "rsmlib"}


def test_book_extras_cover_every_chapter_import():
    book = set(pins(extras("book")))
    distributions = importlib.metadata.packages_distributions()
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for module in third_party_imports(path):
            names = {re.sub(r"[-_.]+", "-", d).lower().replace("tensorflow-cpu", "tensorflow")
                     for d in distributions.get(module, [])}  # tensorflow-cpu: same modules
            assert names & book, f"{path.name} imports {module}: not in rsmlib[book]"


def test_book_extras_are_the_versions_of_requirements_txt():
    book, project = pins(extras("book")), pins(requirement_lines(ROOT / "requirements.txt"))
    for name, version in book.items():
        assert project.get(name) == version, f"rsmlib[book] pins {name}=={version}"
    data = {r.name for r in extras("data")}
    assert data == {"lda", "mlxtend"} and data <= set(book)
    assert [str(r) for r in extras("gpu")] == [f"tensorflow[and-cuda]=={book['tensorflow']}"]
    assert requirement_lines(ROOT / "requirements-gpu.txt") == extras("gpu")


def test_binder_installs_the_book_extras_and_rsmlib():
    assert pins(requirement_lines(ROOT / "binder" / "requirements.txt")) == pins(extras("book"))
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = ROOT / "binder" / "postBuild"
    assert "pip install --no-cache-dir --no-deps ." in post_build.read_text()
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"


def test_one_tensorflow_in_the_project_environment():
    """requirements.txt pins the GPU-capable tensorflow, which satisfies rsmlib's dependency."""
    project = pins(requirement_lines(ROOT / "requirements.txt"))
    assert "tensorflow-cpu" not in project and project["tensorflow"]
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (tf,) = [Requirement(d) for d in dependencies if Requirement(d).name == "tensorflow"]
    assert tf.specifier.contains(project["tensorflow"])


def test_execute_strips_stderr():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="cudart_stub.cc: no GPU\n"),
        nbformat.v4.new_output("stream", name="stdout", text="[1.1] claim: True\n")])])
    assert execute.strip_stderr(notebook) == 1
    assert [o["name"] for o in notebook.cells[0].outputs] == ["stdout"]


def test_no_stored_stderr_in_the_chapters():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                assert output.get("name") != "stderr", f"{path.name}: stored stderr {output}"
