"""pytest plugin loaded for the nbval run (`pytest -p nbval_plugin`, see the Makefile).

Two adjustments to nbval's comparison of stored and fresh outputs:

1. stderr is not compared. TensorFlow and its C++ runtime write log lines to stderr that differ
   between machines and versions. Errors are unaffected: a cell that raises still fails.

2. Outputs recorded on another kind of CPU. float32 products round differently on CPUs of
   different vendors (AVX-512 kernels on the Intel Xeons seen here, AVX2 on the AMD EPYCs), and
   many epochs of training amplify the last bit into a different model, so a chapter that trains
   prints other numbers there. The notebooks store the outputs of one kind of CPU. For each other
   kind, ``tests/reference_outputs/<vendor_id>/<notebook>.json`` (written by
   ``tools/reference_outputs.py`` from a top-to-bottom execution on that kind, never by hand)
   holds each code cell's outputs with a SHA-256 of the cell's source. On a machine of that
   vendor a cell is compared with the recorded outputs when its source is unchanged since the
   recording; a cell edited since then is still executed, so every check it makes still raises,
   but its outputs are not compared, and the run's summary lists it.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
from pathlib import Path

import nbformat

# both overridable, for the plugin's own tests and to see another kind's comparison fail here
REFERENCES = Path(os.environ.get("RSMLIB_NBVAL_REFERENCES",
                                 Path(__file__).parent / "reference_outputs"))
_errors_only: list[str] = []
_compared: dict[str, int] = {}


def cpu_vendor() -> str:
    """The CPU's vendor_id from /proc/cpuinfo ('GenuineIntel', 'AuthenticAMD'), else the
    machine's architecture."""
    if os.environ.get("RSMLIB_CPU_VENDOR"):
        return os.environ["RSMLIB_CPU_VENDOR"]
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine() or "unknown"


def source_sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _reference_cells(notebook: Path) -> dict[str, dict] | None:
    path = REFERENCES / cpu_vendor() / f"{notebook.stem}.json"
    if not path.exists():
        return None
    recorded = json.loads(path.read_text())
    return {cell["id"]: cell for cell in recorded["cells"]}


def pytest_collection_modifyitems(session, config, items):
    references: dict[Path, dict | None] = {}
    for item in items:
        parent = getattr(item, "parent", None)
        skip = getattr(parent, "skip_compare", None)
        if skip is not None and "stderr" not in skip:
            parent.skip_compare = tuple(skip) + ("stderr",)
        cell = getattr(item, "cell", None)
        if cell is None or not str(item.fspath).endswith(".ipynb"):
            continue
        notebook = Path(str(item.fspath))
        if notebook not in references:
            references[notebook] = _reference_cells(notebook)
        recorded = references[notebook]
        if recorded is None:
            continue
        entry = recorded.get(cell.get("id"))
        if entry is not None and entry["source_sha256"] == source_sha256(cell.source):
            item.cell = copy.deepcopy(cell)
            item.cell.outputs = [nbformat.from_dict(o) for o in entry["outputs"]]
            _compared[notebook.name] = _compared.get(notebook.name, 0) + 1
        else:
            item.options["check"] = False
            _errors_only.append(f"{notebook.name}::{item.name}")


def pytest_report_header(config):
    vendor = cpu_vendor()
    kinds = sorted(p.name for p in REFERENCES.glob("*") if p.is_dir())
    use = ("its recorded outputs where a notebook has them" if vendor in kinds
           else "the notebooks' stored outputs")
    return f"nbval: CPU vendor {vendor}; compared with {use} (recorded kinds: {kinds})"


def pytest_terminal_summary(terminalreporter):
    if not _compared and not _errors_only:
        return
    write = terminalreporter.write_line
    write(f"nbval: outputs compared with those recorded on {cpu_vendor()}: "
          + ", ".join(f"{name} {n} cells" for name, n in sorted(_compared.items())))
    if _errors_only:
        write(f"nbval: {len(_errors_only)} cells edited since that recording ran for errors "
              "only (their checks still raise): " + ", ".join(_errors_only))
