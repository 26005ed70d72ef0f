"""Scale-out: RSM and DLGM training steps under tf.distribute.MirroredStrategy on 2 logical CPUs.

The strategy needs the two logical devices configured before TensorFlow initialises its devices,
so the work runs in a fresh interpreter (tests/distribute_helper.py); see its docstring for the
algorithm compared. A deliberately broken mirrored step (no all-reduce) must differ.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HELPER = Path(__file__).with_name("distribute_helper.py")


@pytest.fixture(scope="module")
def result():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, str(HELPER)], capture_output=True, text=True, env=env,
                          cwd=HELPER.parent.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_two_logical_cpu_devices(result):
    assert result["devices"] == ["/device:CPU:0", "/device:CPU:1"]


@pytest.mark.parametrize("model", ["rsm", "dlgm"])
def test_mirrored_steps_equal_the_single_device_run(result, model):
    assert result[model]["mirrored"]["params"] < 1e-6
    assert result[model]["mirrored"]["update"] < 1e-4


@pytest.mark.parametrize("model", ["rsm", "dlgm"])
def test_a_step_without_all_reduce_is_detected(result, model):
    assert result[model]["broken"]["update"] > 1e-2
