"""Execute chapter notebooks top to bottom in a fresh kernel and store their outputs.

    python tools/execute.py chapters/01_energy_models.ipynb [more.ipynb ...]

Stored outputs come only from this script (never typed by hand): it runs every cell in
order, in the notebook's own directory, with TensorFlow's C++ logging silenced so that
its log lines do not end up in the book, then writes the notebook back in place.
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


def execute(path: Path, timeout: int) -> float:
    notebook = nbformat.read(path, as_version=4)
    os.environ.update(QUIET_ENV)
    start = time.perf_counter()
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
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
