"""fit_rsm on Keras optimizers against a frozen copy of the hand-written implementation it
replaced (tests/frozen_training.py), on small runs: momentum SGD bit for bit, Adam to float32
rounding with the same words sampled at every step; CD-k ramps and persistent chains. Also: any
Keras optimizer object, and a checkpoint that fails halfway through restoring leaves the model
as it was (issue 18), where the frozen implementation is left partly overwritten.
"""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

import frozen_training
from rsmlib import RSM
from rsmlib.training import fit_rsm

keras = pytest.importorskip("keras")

K, F = 30, 6


@pytest.fixture(scope="module")
def docs():
    rng = np.random.default_rng(0)
    counts = rng.poisson(1.0, (60, K)).astype(np.float32)
    counts[:, 0] += 1
    return counts


def train(fit, docs, **options):
    model = RSM(K, F, seed=1, init_scale=0.1)
    options = {"epochs": 6, "batch_size": 16, "learning_rate": 0.05, "seed": 3,
               "progress": False, **options}
    history = fit(model, docs, **options)
    return [p.numpy() for p in model.parameters], history["reconstruction_error"]


# b_h's gradient carries the factor D (about 60 words here): at b_h's rate 0.05 the hidden units
# saturate within a step, h no longer depends on where a chain starts, and PCD equals CD; at 1e-3
# they do not (test_the_persistent_run_differs_from_cd)
SLOW_BIAS = {"learning_rate": 0.01, "hidden_bias_rate": 1e-3}
RUNS = {"CD-k ramp": {"cd_steps": (1, 3), **SLOW_BIAS},
        "persistent": {"cd_steps": 2, "persistent": True, **SLOW_BIAS},
        "bias rate, decay": {"hidden_bias_rate": 0.003, "weight_decay": 1e-3}}


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_the_persistent_run_differs_from_cd(docs, optimizer):
    pcd, _ = train(fit_rsm, docs, optimizer=optimizer, **RUNS["persistent"])
    cd, _ = train(fit_rsm, docs, optimizer=optimizer, **{**RUNS["persistent"], "persistent": False})
    assert np.abs(pcd[0] - cd[0]).max() > 1e-3


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("run", RUNS)
def test_named_optimizers_equal_the_hand_written_ones_bit_for_bit(docs, run, optimizer):
    new, new_recon = train(fit_rsm, docs, optimizer=optimizer, **RUNS[run])
    old, old_recon = train(frozen_training.fit_rsm, docs, optimizer=optimizer, **RUNS[run])
    assert new_recon == old_recon
    for a, b in zip(new, old):
        np.testing.assert_array_equal(a, b)


def test_keras_adam_itself_differs_by_rounding_only_on_a_short_run(docs):
    """keras.optimizers.Adam (epsilon 1e-8) rounds differently (see rsmlib.training.adam): on a
    short run the same words are sampled and the parameters agree to float32 rounding."""
    new, new_recon = train(fit_rsm, docs, learning_rate=None, cd_steps=(1, 3),
                           optimizer=keras.optimizers.Adam(0.05, epsilon=1e-8))
    old, old_recon = train(frozen_training.fit_rsm, docs, optimizer="adam", cd_steps=(1, 3))
    assert new_recon == old_recon
    differences = [np.abs(a - b).max() / np.abs(b).max() for a, b in zip(new, old)]
    assert 0 < max(differences) < 2e-5, differences   # observed 3e-7 to 8e-7


def test_a_keras_optimizer_object_is_used_for_every_parameter(docs):
    as_object, _ = train(fit_rsm, docs, learning_rate=None,
                         optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    as_string, _ = train(fit_rsm, docs, optimizer="momentum")
    for a, b in zip(as_object, as_string):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="learning_rate must be None with a Keras optimizer"):
        train(fit_rsm, docs, optimizer=keras.optimizers.Adam(0.01))


def test_a_keras_optimizer_object_resumes_exactly(docs, tmp_path):
    straight, _ = train(fit_rsm, docs, learning_rate=None, optimizer=keras.optimizers.Adam(0.01))

    def stop(epoch, model):
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(fit_rsm, docs, learning_rate=None, optimizer=keras.optimizers.Adam(0.01),
              checkpoint_dir=tmp_path, callback=stop)
    resumed, _ = train(fit_rsm, docs, learning_rate=None, optimizer=keras.optimizers.Adam(0.01),
                       checkpoint_dir=tmp_path)
    for a, b in zip(resumed, straight):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="another run"):   # another optimizer: refused
        train(fit_rsm, docs, learning_rate=None, optimizer=keras.optimizers.Adam(0.02),
              checkpoint_dir=tmp_path)


@pytest.mark.parametrize("fit", [fit_rsm, frozen_training.fit_rsm], ids=["today", "frozen"])
def test_a_checkpoint_that_fails_halfway_leaves_the_model_as_it_was(docs, tmp_path, fit,
                                                                     monkeypatch):
    options = dict(epochs=3, batch_size=16, learning_rate=0.05, seed=3, progress=False,
                   persistent=True, optimizer="adam", checkpoint_dir=tmp_path)

    def stop(epoch, model):
        if epoch == 2:   # after epoch 1's checkpoint
            raise KeyboardInterrupt

    trained = RSM(K, F, seed=5, init_scale=0.1)
    with pytest.raises(KeyboardInterrupt):
        fit(trained, docs, **options, callback=stop)
    restore = tf.train.Checkpoint.restore

    def fails_after_assigning(self, path, **kwargs):   # as a read error after some variables
        restore(self, path, **kwargs)
        raise OSError("the checkpoint's data file could not be read to the end")

    monkeypatch.setattr(tf.train.Checkpoint, "restore", fails_after_assigning)
    model = RSM(K, F, seed=1, init_scale=0.1)
    before = [p.numpy().copy() for p in model.parameters]
    with pytest.raises(ValueError, match="cannot be restored: OSError"):
        fit(model, docs, **options)
    unchanged = all(np.array_equal(a, p.numpy()) for a, p in zip(before, model.parameters))
    if fit is fit_rsm:
        assert unchanged
    else:   # the frozen implementation restored into the model itself: left overwritten
        assert not unchanged
