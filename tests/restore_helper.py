"""Resume a training run in a fresh interpreter (used by tests/test_restore_determinism.py).

Usage: python tests/restore_helper.py {rsm|dlgm} CHECKPOINT_DIR OUT.npz
Builds the same data and model as the test (with a *different* initial seed, so that everything
must come from the checkpoint), resumes the run to its last epoch and saves the parameters, with
SOURCE_DIGEST, a digest of rsmlib/*.py taken when this interpreter imported rsmlib. The test
compares it with its own: a library re-exported on disk between the two imports (another session
running tools/export.py) is then reported as such, not as a numerical mismatch.
"""
import hashlib
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

import rsmlib  # noqa: E402
from rsmlib import DLGM, RSM  # noqa: E402
from rsmlib.training import fit_rsm  # noqa: E402


def _source_digest():
    """sha256 over the package's source files (rsmlib/*.py), as they are on disk now."""
    digest = hashlib.sha256()
    for path in sorted(Path(rsmlib.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


SOURCE_DIGEST = _source_digest()  # taken right after importing rsmlib

EPOCHS = 4
RSM_ARGS = dict(batch_size=10, learning_rate=0.05, seed=3, progress=False, persistent=True,
                optimizer="adam", cd_steps=(1, 3))
DLGM_ARGS = dict(batch_size=10, seed=1, progress=False)


def corpus():
    docs = np.random.default_rng(0).poisson(1.0, (30, 6)).astype(np.float32)
    docs[:, 0] += 1
    return docs


def images():
    return (np.random.default_rng(12).random((40, 10)) < 0.4).astype(np.float32)


def new_rsm(seed=1):
    return RSM(6, 4, seed=seed)


def new_dlgm(seed=0):
    return DLGM(10, (3,), hidden_size=5, seed=seed)


def main(kind, checkpoint_dir, out):
    if kind == "rsm":
        model = new_rsm(seed=99)
        history = fit_rsm(model, corpus(), epochs=EPOCHS, checkpoint_dir=checkpoint_dir, **RSM_ARGS)
        params = model.parameters
    else:
        model = new_dlgm(seed=99)
        history = model.fit(images(), EPOCHS, checkpoint_dir=checkpoint_dir, **DLGM_ARGS)
        params = model.variables
    np.savez(out, *[p.numpy() for p in params],
             history=np.asarray(history.get("reconstruction_error", history.get("train"))),
             source_digest=np.asarray(SOURCE_DIGEST))


if __name__ == "__main__":
    main(*sys.argv[1:])
