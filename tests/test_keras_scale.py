"""rsmlib.keras at scale: model.fit under MirroredStrategy on 2 logical CPUs equals the
single-device fit, and a run interrupted and resumed by BackupAndRestore in a fresh process ends
bit for bit where the uninterrupted run ends. Both run in fresh interpreters
(tests/keras_helper.py): the logical devices must be set before TensorFlow initialises them, and a
resume must not inherit the first process's state.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HELPER = Path(__file__).with_name("keras_helper.py")


def helper(*args, data_input="pydataset"):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               HELPER_INPUT=data_input)
    return subprocess.run([sys.executable, str(HELPER), *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=HELPER.parent.parent)


@pytest.fixture(scope="module")
def distributed(tmp_path_factory):
    out = tmp_path_factory.mktemp("distribute") / "result.json"
    proc = helper("distribute", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_mirrored_fit_equals_the_single_device_fit(distributed):
    assert distributed["replicas"] == 2
    assert distributed["rsm"] < 1e-12      # float64: only the order of the gradient sums differs
    assert distributed["dlgm"] < 1e-12


def test_a_loss_counted_once_per_replica_is_detected(distributed):
    assert distributed["rsm_broken"] > 1e-2


@pytest.mark.parametrize("data_input", ["pydataset", "dataset"])
def test_backup_and_restore_in_a_fresh_process_is_exact(tmp_path, data_input):
    # DocumentBatches fed to fit as a PyDataset, or as its tf.data dataset()
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    straight.mkdir(), resumed.mkdir()
    for directory, args in ((straight, (4,)), (resumed, (4, 2)), (resumed, (4,))):
        proc = helper("resume", directory, *args, data_input=data_input)
        assert proc.returncode == (3 if args == (4, 2) else 0), proc.stderr[-3000:]
        if args == (4, 2):
            assert not (resumed / "weights.npz").exists()      # it was interrupted
            assert (resumed / "backup" / "run.json").exists()
    a, b = np.load(straight / "weights.npz"), np.load(resumed / "weights.npz")
    assert len(a.files) == 5
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key])


def test_the_dataset_feeds_fit_the_batches_the_pydataset_feeds(tmp_path):
    # the same batches in the same order: the same weights after 3 epochs, bit for bit
    runs = {}
    for data_input in ("pydataset", "dataset"):
        directory = tmp_path / data_input
        directory.mkdir()
        proc = helper("resume", directory, 3, data_input=data_input)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[data_input] = np.load(directory / "weights.npz")
    a, b = runs["pydataset"], runs["dataset"]
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key])
