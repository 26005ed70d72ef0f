"""The API page's quick start runs as printed (issue 16): its code blocks cannot go stale.

The ``python`` blocks of api.md's "Quick start" section run in order in one fresh interpreter
(as a reader pasting them into one session would), on the CPU, at the sizes printed there.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def quick_start_blocks(text: str) -> list[str]:
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0].split("```{rsmlib-api}")[0]
    return BLOCK.findall(section)


def test_the_quick_start_has_the_five_first_things():
    blocks = quick_start_blocks((ROOT / "api.md").read_text(encoding="utf-8"))
    joined = "\n".join(blocks)
    assert len(blocks) == 5, f"expected five quick-start blocks, found {len(blocks)}"
    for call in ("RSM(", "free_energy(", "log_prob_exact(", "fit_rsm(", "load_reuters()",
                 "perplexity(", "top_words(", "RSMLayer(", "keras.Model(", "DLGM(", ".fit(",
                 "log_likelihood_is("):
        assert call in joined, f"the quick start no longer shows {call}"
    long = [line for line in joined.splitlines() if len(line) > 88]
    assert not long, f"quick-start lines wider than the code box (88 characters): {long}"


def test_the_quick_start_runs(tmp_path):
    script = tmp_path / "quick_start.py"
    blocks = quick_start_blocks((ROOT / "api.md").read_text(encoding="utf-8"))
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    perplexity = float(next(line for line in lines if re.fullmatch(r"\d+(\.\d+)?", line)))
    assert 1 < perplexity < 4258, f"perplexity {perplexity} outside (1, vocabulary size)"
    assert re.search(r"-ln p\(v\) = \d+\.\d nats per image", proc.stdout), proc.stdout
