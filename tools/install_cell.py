"""Write the standard first code cell of every chapter: it installs rsmlib where rsmlib is missing.

    python tools/install_cell.py            # insert or update the cell in chapters/*.ipynb
    python tools/install_cell.py --check    # exit 1 if any chapter's cell differs (make test)
    python tools/install_cell.py --print    # show the cell that the setting gives
    python tools/install_cell.py some/copy.ipynb ...   # other notebooks than chapters/*.ipynb

The cell is derived from one setting, ``repository.url`` in ``_config.yml`` (where the book's
source lives), and from ``rsmlib.__version__``: where ``import rsmlib`` would fail (Colab, Binder,
a plain Jupyter) it runs ``%pip install "rsmlib[book] @ git+<url>@v<version>"``, the book's
release with the exact package versions the stored outputs were produced with. Inside the
project's own environment rsmlib is importable, so the cell does nothing and prints nothing.
The environment variable ``RSMLIB_SOURCE`` (any pip location: a wheel, ``file:///path/to/checkout``,
``git+https://...@ref``) overrides the setting; with the setting unset and no override, the cell
stops with a message that says how to install rsmlib.

The cell goes right before the chapter's first code cell (after its title) and is tagged
``remove-cell``: the rendered book does not show it, the notebook that a reader opens or
downloads has it. Inserting it shifts the stored execution counts by one, so an executed notebook
stays numbered top to bottom (the cell prints nothing, so no output changes). Updating an existing
cell changes only its source. Never edit the cell by hand: change the setting and rerun this tool.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "rsmlib-install"
TAGS = ["remove-cell"]
MARKER = "# Written by tools/install_cell.py"

TEMPLATE = '''\
# Run this chapter where rsmlib is missing (Colab, Binder, a plain Jupyter): this cell installs
# rsmlib {version}, the book's release, with the packages the chapters import (`rsmlib[book]`).
# In the book's own environment it does nothing. RSMLIB_SOURCE overrides where pip finds rsmlib.
{marker} from _config.yml (repository.url): do not edit.
import importlib.util
import os

if importlib.util.find_spec("rsmlib") is None:
    RSMLIB_SOURCE = os.environ.get("RSMLIB_SOURCE") or "{source}"
    if not RSMLIB_SOURCE:
        raise ModuleNotFoundError(
            "rsmlib is not installed, and this copy of the book names no place to install it from "
            "(repository.url is unset in the book's _config.yml). From a checkout of the book's "
            "source run `pip install '.[book]'`, or set the environment variable RSMLIB_SOURCE to "
            "a pip location of rsmlib (a wheel, file:///path/to/checkout, git+https://...) and "
            "restart the kernel.")
    %pip install --quiet "rsmlib[book] @ {{RSMLIB_SOURCE}}"'''


def read_setting(config: Path) -> str:
    """The book's source location, ``repository.url`` in ``_config.yml`` ('' when unset)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    url = ((data.get("repository") or {}).get("url") or "").strip()
    if url and not re.match(r"^(https?|ssh|git|file)://", url):
        raise SystemExit(f"{config}: repository.url must be a URL (https://...), not {url!r}")
    return url


def read_version(init: Path) -> str:
    """``rsmlib.__version__`` read from rsmlib/__init__.py without importing TensorFlow."""
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', init.read_text(encoding="utf-8"),
                      flags=re.M)
    if not match:
        raise SystemExit(f"{init}: no __version__ = '...' line")
    return match.group(1)


def pip_source(url: str, version: str) -> str:
    """Where pip finds the book's release: the tag ``v<version>`` of the repository ('' if unset).

    >>> pip_source("https://github.com/org/book", "0.1.0")
    'git+https://github.com/org/book@v0.1.0'
    """
    return f"git+{url.rstrip('/')}@v{version}" if url else ""


def cell_source(url: str, version: str) -> str:
    """The source of the install cell for a setting ``url`` and release ``version``."""
    return TEMPLATE.format(version=version, marker=MARKER, source=pip_source(url, version))


def find_cell(notebook) -> int | None:
    """Index of the notebook's install cell (the code cell carrying MARKER), or None."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and MARKER in cell.source:
            return index
    return None


def first_code_cell(notebook) -> int:
    return next((i for i, c in enumerate(notebook.cells) if c.cell_type == "code"),
                len(notebook.cells))


def problems(notebook, source: str) -> list[str]:
    """What differs between the notebook and one whose install cell is up to date ([] if none)."""
    index = find_cell(notebook)
    if index is None:
        return ["has no install cell"]
    cell, found = notebook.cells[index], []
    if index != first_code_cell(notebook):
        found.append(f"install cell is cell {index}, not the first code cell")
    if cell.source != source:
        found.append("install cell differs from the one _config.yml gives")
    if cell.outputs:
        found.append("install cell has stored outputs")
    if cell.metadata.get("tags") != TAGS:
        found.append(f"install cell's tags are {cell.metadata.get('tags')}, not {TAGS}")
    return found


def shift_execution_counts(notebook, start: int, by: int = 1) -> None:
    """Add ``by`` to every stored execution count of the code cells from index ``start`` on."""
    for cell in notebook.cells[start:]:
        if cell.cell_type != "code":
            continue
        if cell.execution_count is not None:
            cell.execution_count += by
        for output in cell.outputs:
            if output.get("execution_count") is not None:
                output["execution_count"] += by


def apply(notebook, source: str) -> bool:
    """Insert or update the install cell in place; return whether the notebook changed."""
    if not problems(notebook, source):
        return False
    index = find_cell(notebook)
    if index is not None:  # update in place: the source, tags and position, never the counts
        cell = notebook.cells.pop(index)
        if cell.execution_count is not None:
            shift_execution_counts(notebook, index, -1)
        cell.source, cell.outputs, cell.metadata["tags"] = source, [], list(TAGS)
    else:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(TAGS)})
        cell.id = CELL_ID
    position = first_code_cell(notebook)
    executed = any(c.cell_type == "code" and c.execution_count is not None
                   for c in notebook.cells[position:])
    if executed:
        # The notebook ran top to bottom: the install cell ran first (printing nothing).
        shift_execution_counts(notebook, position, 1)
        cell.execution_count = 1
    else:
        cell.execution_count = None
    notebook.cells.insert(position, cell)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to write (default: chapters/*.ipynb)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on drift")
    parser.add_argument("--print", action="store_true", help="print the cell and exit")
    parser.add_argument("--config", type=Path, default=ROOT / "_config.yml")
    args = parser.parse_args(argv)
    source = cell_source(read_setting(args.config), read_version(ROOT / "rsmlib" / "__init__.py"))
    if args.print:
        print(source)
        return 0
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    if not notebooks:
        raise SystemExit("no notebooks found")
    stale = 0
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        if args.check:
            for problem in problems(notebook, source):
                print(f"{path}: {problem}")
                stale += 1
        elif apply(notebook, source):
            nbformat.write(notebook, path)
            print(f"wrote the install cell of {path}")
    if stale:
        print("run `python tools/install_cell.py` to write the cells from _config.yml")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
