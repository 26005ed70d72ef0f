"""Execute chapter notebooks top to bottom in a fresh kernel and store their outputs.

    python tools/execute.py chapters/01_energy_models.ipynb [more.ipynb ...]

Stored outputs come only from this script (never typed by hand): it runs every cell in
order, in the notebook's own directory, with TensorFlow's C++ logging silenced, then drops
every stderr output (TensorFlow's CUDA probing messages on a machine with or without a GPU,
library warnings: they differ between machines, nbval does not compare them, and they must not
reach the book) and writes the notebook back in place. A cell that raises still fails here.
Afterwards run `python tools/export.py` if exported cells changed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0", "TF_ENABLE_ONEDNN_OPTS": "0"}


def strip_stderr(notebook) -> int:
    """Remove every stderr stream output from the notebook in place; return how many."""
    removed = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = [o for o in cell.outputs
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        removed += len(cell.outputs) - len(kept)
        cell.outputs = kept
    return removed


def execute(path: Path, timeout: int) -> float:
    notebook = nbformat.read(path, as_version=4)
    os.environ.update(QUIET_ENV)
    start = time.perf_counter()
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    strip_stderr(notebook)
    nbformat.write(notebook, path)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        seconds = execute(path, args.timeout)
        print(f"executed {path} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
