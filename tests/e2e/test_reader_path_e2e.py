"""The reader's path, end to end: a fresh environment with only Python and a Jupyter kernel runs a
chapter after its first cell, and gets the stored verdicts.

    python -m pytest tests/e2e -p no:cacheprovider      # make test runs it

Cost, with the wheelhouse filled: about 155 CPU-seconds (the pip install of the first cell, mostly
unpacking TensorFlow, and Chapter 1 itself); measured 11.7 min of wall time on 2 cores shared
with other jobs (load 12), so about 2 to 3 minutes on 2 idle cores. The first run downloads
TensorFlow's wheel once (about 1 min here).

1. Build rsmlib's wheel from a copy of this checkout (pyproject.toml, README.md, LICENSE, rsmlib/).
2. Create a virtual environment with the base Python and install ipykernel into it: the reader's
   "plain Jupyter". rsmlib, TensorFlow and the rest are missing there.
3. Run the install cell, as written by tools/install_cell.py for an unset setting, with no
   RSMLIB_SOURCE: it must stop with its message and install nothing.
4. Execute Chapter 1 top to bottom with nbclient in that environment, its install cell written by
   tools/install_cell.py from _config.yml, with RSMLIB_SOURCE=file://<the wheel> (the override
   that stands in for the repository): the cell must install rsmlib from the wheel, every cell
   must succeed, and the verdict lines (``[1.n] ...: True``) must be exactly the stored ones.

The packages come from pip's usual indexes, once: they are kept in a wheelhouse
(``$RSMLIB_WHEELHOUSE``, default ``~/.cache/rsmlib-reader-path``; the same files as the index),
and the reader's pip installs from it with --no-index, so that a rerun downloads nothing even where
pip's own cache keeps nothing (as here, for TensorFlow's 600 MB wheel). ``RSMLIB_E2E_KEEP=1`` keeps the temporary
folder (printed) for inspection.
"""
from __future__ import annotations

import hashlib
import os
import re
import tomllib
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import install_cell  # noqa: E402

CHAPTER = ROOT / "chapters" / "01_energy_models.ipynb"
WHEELHOUSE = Path(os.environ.get("RSMLIB_WHEELHOUSE",
                                 Path.home() / ".cache" / "rsmlib-reader-path")).resolve()
KERNEL = "rsmlib-reader"
# The chapter's verdicts; labels 0.n are the demonstration of the checker itself (one fails on purpose).
# a verdict, with the lines check() wrapped it onto at 88 characters (indented 4)
VERDICT = re.compile(r"^\[[1-9]\d*\.\d+[a-z]?\] .*(?:\n    .*)*", flags=re.M)
TIMES: dict[str, float] = {}


def run(*command, **kwargs):
    return subprocess.run([str(c) for c in command], check=True, capture_output=True, text=True,
                          **kwargs)


def requirement(name: str) -> str:
    """The pinned line of ``name`` in requirements.txt (e.g. 'ipykernel==7.4.0')."""
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if re.match(rf"^{name}==", line):
            return line.split("#")[0].strip()
    raise AssertionError(f"requirements.txt pins no {name}")


def book_extras() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["optional-dependencies"]["book"])


def verdicts(notebook) -> list[str]:
    lines = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                lines += [" ".join(part.strip() for part in verdict.split("\n"))
                          for verdict in VERDICT.findall("".join(output.get("text", "")))]
    return lines


def base_python() -> str:
    """The interpreter this one's virtual environment was made from (a reader's plain Python)."""
    return getattr(sys, "_base_executable", None) or sys.executable


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """(work folder, wheel, python of the reader's fresh environment, its environment variables)."""
    work = Path(tempfile.mkdtemp(prefix="rsmlib-reader-"))
    start = time.perf_counter()
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "rsmlib", source / "rsmlib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # The wheelhouse: every wheel that `rsmlib[book]`, ipykernel and the wheel's build need, the
    # same files as on the index. Once complete (its stamp names what it was filled for), pip
    # installs from it with --no-index: a rerun neither downloads nor asks an index anything.
    wanted = [requirement("ipykernel"), "setuptools>=68", *book_extras()]
    stamp = WHEELHOUSE / ("complete-" + hashlib.sha256(
        repr((wanted, sys.version_info[:2])).encode()).hexdigest()[:16])
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE)} if stamp.exists() else {}
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work / "dist", source,
        env={**os.environ, **offline})
    (wheel,) = (work / "dist").glob("rsmlib-*.whl")
    TIMES["build the wheel"] = time.perf_counter() - start

    start = time.perf_counter()
    if not stamp.exists():
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        run(sys.executable, "-m", "pip", "download", "--quiet", "--dest", WHEELHOUSE,
            "--find-links", WHEELHOUSE, f"rsmlib[book] @ {wheel.as_uri()}", *wanted[:2])
        for stale in WHEELHOUSE.glob("rsmlib-*"):  # the wheelhouse keeps dependencies only
            stale.unlink()
        stamp.touch()
    TIMES["fill the wheelhouse"] = time.perf_counter() - start

    start = time.perf_counter()
    venv = work / "reader"
    run(base_python(), "-m", "venv", venv)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "RSMLIB_SOURCE", "JUPYTER_PATH")}
    # PIP_NO_COMPILE: no .pyc for all of TensorFlow at install (Python compiles what it imports).
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE), PIP_NO_COMPILE="1",
               TF_CPP_MIN_LOG_LEVEL="3",
               TF_ENABLE_ONEDNN_OPTS="0", PYTHONHASHSEED="0", JUPYTER_PATH=str(venv / "share" / "jupyter"),
               PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    run(python, "-m", "pip", "install", "--quiet", requirement("ipykernel"), env=env)
    run(python, "-m", "ipykernel", "install", "--prefix", venv, "--name", KERNEL, env=env)
    TIMES["fresh environment with ipykernel"] = time.perf_counter() - start
    yield work, wheel, python, env
    print("\nreader's path, seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in TIMES.items()))
    if os.environ.get("RSMLIB_E2E_KEEP"):
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def execute(notebook, env: dict[str, str], cwd: Path):
    """Run the notebook in the reader's kernel, with exactly the environment variables ``env``."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(notebook, timeout=900, kernel_name=KERNEL,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cell_seconds(cell) -> float:
    """How long the cell ran, from nbclient's timing metadata."""
    timing = cell.metadata.get("execution", {})
    begin, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                  for key in ("iopub.execute_input", "shell.execute_reply"))
    return (end - begin).total_seconds()


def importable(python: Path, module: str, env) -> bool:
    return subprocess.run([str(python), "-c", f"import {module}"], env=env, cwd="/",
                          capture_output=True).returncode == 0


def test_without_a_setting_the_cell_says_what_to_do(reader):
    work, _, python, env = reader
    assert not importable(python, "rsmlib", env), "the fresh environment already has rsmlib"
    source = install_cell.cell_source("", install_cell.read_version(ROOT / "rsmlib/__init__.py"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    with pytest.raises(CellExecutionError, match="repository.url is unset"):
        execute(notebook, env, work)
    assert not importable(python, "rsmlib", env)


def test_chapter_runs_top_to_bottom_after_its_first_cell(reader):
    work, wheel, python, env = reader
    assert not importable(python, "rsmlib", env), "the fresh environment already has rsmlib"
    assert not importable(python, "tensorflow", env)
    stored = nbformat.read(CHAPTER, as_version=4)
    expected = verdicts(stored)
    assert expected and all(line.endswith(": True") for line in expected)

    notebook = nbformat.read(CHAPTER, as_version=4)
    settings = install_cell.cell_source(install_cell.read_setting(ROOT / "_config.yml"),
                                        install_cell.read_version(ROOT / "rsmlib/__init__.py"))
    install_cell.apply(notebook, settings)  # nothing changes once the chapter carries the cell
    index = install_cell.find_cell(notebook)
    assert index == next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    chapters = work / "book" / "chapters"
    chapters.mkdir(parents=True)
    start = time.perf_counter()
    execute(notebook, {**env, "RSMLIB_SOURCE": wheel.as_uri()}, chapters)
    TIMES["execute the chapter"] = time.perf_counter() - start
    TIMES["of which its first cell (pip install)"] = cell_seconds(notebook.cells[index])

    assert verdicts(notebook) == expected
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    shown = run(python, "-m", "pip", "show", "rsmlib", env=env).stdout
    assert f"Version: {wheel.name.split('-')[1]}" in shown
    direct = run(python, "-c", "import importlib.metadata as m; "
                 "print(m.distribution('rsmlib').read_text('direct_url.json'))", env=env, cwd="/")
    assert wheel.as_uri() in direct.stdout, "rsmlib was not installed from the built wheel"
