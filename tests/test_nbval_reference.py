"""nbval_plugin's outputs recorded on another kind of CPU (tests/reference_outputs/).

Each case runs nbval on a one-cell notebook in a subprocess, with the plugin's vendor and
reference folder overridden, and shows which stored outputs the cell was compared with.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbval_plugin import REFERENCES, source_sha256

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "print(1 + 1)"


def run_nbval(tmp_path: Path, stored: str, recorded: str | None, source_of_record: str = SOURCE,
              vendor: str = "TestVendor") -> subprocess.CompletedProcess:
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(SOURCE, id="only-cell", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    notebook.cells = [cell]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, path)
    references = tmp_path / "references"
    if recorded is not None:
        (references / "TestVendor").mkdir(parents=True)
        (references / "TestVendor" / "tiny.json").write_text(json.dumps({"cells": [{
            "id": "only-cell", "source_sha256": source_sha256(source_of_record),
            "outputs": [{"output_type": "stream", "name": "stdout", "text": recorded}]}]}))
    env = dict(os.environ, RSMLIB_CPU_VENDOR=vendor, RSMLIB_NBVAL_REFERENCES=str(references),
               PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "nbval_plugin", "--nbval",
                           "--nbval-current-env", "-p", "no:cacheprovider", str(path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_without_a_record_the_stored_outputs_are_compared(tmp_path):
    assert run_nbval(tmp_path, "2\n", None).returncode == 0
    (tmp_path / "wrong").mkdir()
    assert run_nbval(tmp_path / "wrong", "3\n", None).returncode != 0


def test_a_record_for_this_vendor_replaces_the_stored_outputs(tmp_path):
    result = run_nbval(tmp_path, "5\n", "2\n")
    assert result.returncode == 0, result.stdout
    assert "compared with those recorded on TestVendor: tiny.ipynb 1 cells" in result.stdout


def test_a_wrong_record_fails(tmp_path):
    result = run_nbval(tmp_path, "2\n", "3\n")
    assert result.returncode != 0
    assert "Cell outputs differ" in result.stdout


def test_a_record_for_another_vendor_is_not_used(tmp_path):
    assert run_nbval(tmp_path, "2\n", "3\n", vendor="OtherVendor").returncode == 0


def test_a_cell_edited_since_the_record_runs_for_errors_only(tmp_path):
    result = run_nbval(tmp_path, "5\n", "3\n", source_of_record="print(1 + 2)")
    assert result.returncode == 0, result.stdout
    assert "1 cells edited since that recording ran for errors only" in result.stdout


@pytest.mark.parametrize("record", sorted(REFERENCES.glob("*/*.json")), ids=lambda p: p.stem)
def test_each_record_names_its_notebook_and_known_cells(record):
    data = json.loads(record.read_text())
    notebook = nbformat.read(ROOT / data["notebook"], as_version=4)
    ids = {cell.id for cell in notebook.cells if cell.cell_type == "code"}
    assert data["vendor"] == record.parent.name in ("GenuineIntel", "AuthenticAMD")
    assert Path(data["notebook"]).stem == record.stem
    # a record whose cells were all replaced compares nothing: regenerate or delete it
    assert ids & {cell["id"] for cell in data["cells"]}
