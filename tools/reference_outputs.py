r"""Record a notebook's outputs, as executed on one kind of CPU, for nbval on that kind.

    python tools/reference_outputs.py --vendor GenuineIntel --rev 0a3a7ff \
        chapters/02_replicated_softmax.ipynb [more.ipynb ...]

The notebooks store the outputs of one kind of CPU (``tools/execute.py``, top to bottom). Where
another kind prints other numbers (float32 rounding, amplified by training), nbval compares
against ``tests/reference_outputs/<vendor>/<notebook>.json`` on a machine of that vendor (see
``tests/nbval_plugin.py``). This script writes that file from a notebook executed top to bottom
on such a machine: the working tree's file, or with ``--rev`` the file as committed at a git
revision whose outputs came from that kind. It keeps each code cell's id, a SHA-256 of its source
and its outputs (stderr and images dropped: nbval compares neither).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = ROOT / "tests" / "reference_outputs"
VENDORS = ("GenuineIntel", "AuthenticAMD")
NOT_COMPARED = ("image/png", "image/jpeg")


def recorded_cells(notebook) -> list[dict]:
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                continue
            output = json.loads(json.dumps(output))
            for key in NOT_COMPARED:
                output.get("data", {}).pop(key, None)
            outputs.append(output)
        cells.append({"id": cell.id,
                      "source_sha256": hashlib.sha256(cell.source.encode("utf-8")).hexdigest(),
                      "outputs": outputs})
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--vendor", required=True, choices=VENDORS,
                        help="the CPU vendor_id of the machine that executed the notebooks")
    parser.add_argument("--rev", help="read the notebooks as committed at this git revision")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        relative = path.resolve().relative_to(ROOT)
        if args.rev:
            text = subprocess.run(["git", "show", f"{args.rev}:{relative.as_posix()}"], cwd=ROOT,
                                  check=True, capture_output=True, text=True).stdout
            source = f"git {args.rev}:{relative.as_posix()}"
        else:
            text, source = path.read_text(), relative.as_posix()
        notebook = nbformat.reads(text, as_version=4)
        out = REFERENCES / args.vendor / f"{path.stem}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {"notebook": relative.as_posix(), "vendor": args.vendor, "recorded_from": source,
                  "cells": recorded_cells(notebook)}
        out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"{out.relative_to(ROOT)}: {len(record['cells'])} cells from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
