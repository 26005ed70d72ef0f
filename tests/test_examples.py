"""The scripts in examples/ run, at small sizes, and do what they say (issue 14)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_rsm_classifier(tmp_path):
    out = run("rsm_classifier.py", "--hidden", "6", "--epochs", "3", "--out", str(tmp_path))
    assert "reloaded model gives the same predictions: True" in out
    assert (tmp_path / "rsm_classifier.keras").exists()
    assert sum(line.startswith("unit ") for line in out.splitlines()) == 5
    assert "parameters: RSM 29,812 (W, b_v, b_h), classifier 7; all trainable: True" in out


def test_dlgm_digits(tmp_path):
    out = run("dlgm_digits.py", "--images", "200", "--epochs", "2", "--hidden", "30",
              "--out", str(tmp_path))
    assert (tmp_path / "dlgm_samples.png").stat().st_size > 5000
    assert "importance-sampled -ln p(v)" in out
