"""tools/nbval_tags.py: nbval's comment markers become cell tags, idempotently (issue 16)."""
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import nbval_tags  # noqa: E402


def notebook(tmp_path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.cells.append(nbformat.v4.new_markdown_cell("# NBVAL_IGNORE_OUTPUT stays in prose"))
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_markers_become_tags_and_leave_the_source(tmp_path):
    path = notebook(tmp_path, "# NBVAL_IGNORE_OUTPUT\nprint(1)",
                    "x = 2\n#   NBVAL_SKIP  (slow)\n", "print('# NBVAL_ not a comment')")
    assert nbval_tags.main(["--check", str(path)]) == 1
    assert nbval_tags.main([str(path)]) == 0
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].source == "print(1)" and cells[0].metadata.tags == ["nbval-ignore-output"]
    assert cells[1].source == "x = 2\n" and cells[1].metadata.tags == ["nbval-skip"]
    assert cells[1].metadata["nbval-reason"] == "slow"
    assert cells[2].source == "print('# NBVAL_ not a comment')" and "tags" not in cells[2].metadata
    assert cells[3].source.startswith("# NBVAL_IGNORE_OUTPUT")  # Markdown is not touched
    assert nbval_tags.main(["--check", str(path)]) == 0


def test_running_twice_changes_nothing(tmp_path):
    path = notebook(tmp_path, "# NBVAL_IGNORE_OUTPUT\nprint(1)")
    nbval_tags.main([str(path)])
    once = path.read_bytes()
    nbval_tags.main([str(path)])
    assert path.read_bytes() == once


def test_an_existing_tag_is_not_repeated(tmp_path):
    path = notebook(tmp_path, "# NBVAL_IGNORE_OUTPUT\nprint(1)")
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].metadata["tags"] = ["nbval-ignore-output", "hide-input"]
    nbformat.write(nb, path)
    nbval_tags.main([str(path)])
    assert nbformat.read(path, as_version=4).cells[0].metadata.tags == ["nbval-ignore-output",
                                                                         "hide-input"]


def test_an_unknown_marker_is_refused(tmp_path, capsys):
    path = notebook(tmp_path, "# NBVAL_IGNORE_OUTPUTS\nprint(1)")
    before = path.read_bytes()
    assert nbval_tags.main([str(path)]) == 2
    assert "unknown nbval marker NBVAL_IGNORE_OUTPUTS" in capsys.readouterr().err
    assert path.read_bytes() == before


@pytest.mark.parametrize("marker, tag", [("IGNORE_OUTPUT", "nbval-ignore-output"),
                                         ("RAISES_EXCEPTION", "nbval-raises-exception")])
def test_tags_are_the_ones_nbval_reads(marker, tag):
    from nbval.plugin import metadata_tags

    assert nbval_tags.tag_of(marker) == tag and tag in metadata_tags
