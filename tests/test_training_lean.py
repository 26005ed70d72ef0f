"""fit_rsm's lean step (issue 17): one traced epoch per model, reused across calls, with
the results of the frozen implementation (tests/frozen_training.py) bit for bit; and the
compiled sampler leaves training exactly as TensorFlow's ops would."""
import copy

import numpy as np
import pytest
import tensorflow as tf

import frozen_training
from rsmlib import RSM, counts_op, training
from rsmlib.training import fit_rsm

keras = pytest.importorskip("keras")

K, F = 40, 5
OPTIONS = dict(batch_size=16, learning_rate=0.05, hidden_bias_rate=1e-3, progress=False)


@pytest.fixture(scope="module")
def docs():
    counts = np.random.default_rng(1).poisson(1.0, (50, K)).astype(np.float32)
    counts[:, 0] += 1
    return counts


@pytest.fixture(autouse=True)
def no_shared_trainers():
    """Each test starts with an empty cache of shared trainers (plain RSMs share one)."""
    training._SHARED.trainers.clear()
    yield
    training._SHARED.trainers.clear()


def epoch_functions():
    return [f for _, epochs in training._SHARED.trainers.values() for f in epochs.values()]


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("persistent", [False, True])
def test_a_second_call_reuses_the_traced_epoch_and_equals_a_fresh_run(docs, optimizer,
                                                                      persistent):
    model, fresh = RSM(K, F, seed=1, init_scale=0.1), RSM(K, F, seed=1, init_scale=0.1)
    runs = [dict(epochs=3, seed=3), dict(epochs=2, seed=4)]
    for run in runs:   # the same model twice: the second call resets and reuses its trainer
        today = fit_rsm(model, docs, optimizer=optimizer, persistent=persistent,
                        **OPTIONS, **run)
        # the frozen fit_rsm builds everything anew at every call
        frozen = frozen_training.fit_rsm(fresh, docs, optimizer=optimizer,
                                         persistent=persistent, **OPTIONS, **run)
        assert today["reconstruction_error"] == frozen["reconstruction_error"]
        assert_same_parameters(model, fresh.parameters)
    (epoch,) = epoch_functions()
    assert epoch.experimental_get_tracing_count() == 1


def test_the_cache_is_no_part_of_the_model(docs):
    model = RSM(K, F, seed=1, init_scale=0.1)
    names = [v.name for v in model.variables]
    fit_rsm(model, docs, epochs=1, seed=0, **OPTIONS)
    assert [v.name for v in model.variables] == names     # no optimizer moment joined them
    assert not hasattr(model, "_fit_rsm_runs")             # the shared cache holds it
    ((trainer, _),) = training._SHARED.trainers.values()
    assert trainer.model is not model                      # it trains its own copy
    fit_rsm(model, docs, epochs=1, seed=0, **{**OPTIONS, "learning_rate": 0.01})
    assert len(training._SHARED.trainers) == 2             # another rate: another trainer


def frozen_run(docs, model_seed, callback=None, **run):
    fresh = RSM(K, F, seed=model_seed, init_scale=0.1)
    history = frozen_training.fit_rsm(fresh, docs, callback=callback, **OPTIONS, **run)
    return history, [p.numpy() for p in fresh.parameters]


def assert_same_parameters(model, parameters):
    for a, b in zip(model.parameters, parameters, strict=True):
        np.testing.assert_array_equal(a.numpy(), np.asarray(b))


def assert_same_run(model, history, frozen):
    assert history["reconstruction_error"] == frozen[0]["reconstruction_error"]
    assert_same_parameters(model, frozen[1])


@pytest.mark.parametrize("persistent", [False, True])
def test_models_of_one_shape_share_one_traced_epoch_and_each_trains_as_a_fresh_run(
        docs, persistent):
    # three models, each its own initial weights; a copy of the first trained before
    for model_seed in (1, 2, 3):
        model = RSM(K, F, seed=model_seed, init_scale=0.1)
        history = fit_rsm(model, docs, epochs=2, seed=model_seed, persistent=persistent,
                          **OPTIONS)
        assert_same_run(model, history, frozen_run(docs, model_seed, epochs=2,
                                                   seed=model_seed, persistent=persistent))
        ((trainer, _),) = training._SHARED.trainers.values()   # this call ran on it
        np.testing.assert_array_equal(trainer.model.W.numpy(), model.W.numpy())
        assert not trainer.busy
    (epoch,) = epoch_functions()
    assert epoch.experimental_get_tracing_count() == 1
    # another shape or dtype is another trainer
    fit_rsm(RSM(K, F + 1, seed=0), docs, epochs=1, seed=0, **OPTIONS)
    fit_rsm(RSM(K, F, seed=0, dtype=tf.float64), docs, epochs=1, seed=0, **OPTIONS)
    assert len(training._SHARED.trainers) == 3


def test_a_callback_that_changes_the_model_is_seen_by_the_next_epoch(docs):
    def halve(epoch, model):
        model.W.assign(model.W * 0.5)

    model = RSM(K, F, seed=1, init_scale=0.1)
    history = fit_rsm(model, docs, epochs=3, seed=2, callback=halve, **OPTIONS)
    assert_same_run(model, history, frozen_run(docs, 1, callback=halve, epochs=3, seed=2))


def test_a_fit_rsm_call_from_a_callback_does_not_disturb_the_running_one(docs):
    # the callback trains another model of the same shape and options, mid-run
    side = RSM(K, F, seed=7, init_scale=0.1)

    def train_side(epoch, model):
        assert epoch <= 3, "the running trainer was reset: its epochs start again"
        fit_rsm(side, docs, epochs=1, seed=epoch, **OPTIONS)

    model = RSM(K, F, seed=1, init_scale=0.1)
    history = fit_rsm(model, docs, epochs=3, seed=2, callback=train_side, **OPTIONS)
    assert_same_run(model, history, frozen_run(docs, 1, epochs=3, seed=2))
    # and the side model trained as three fresh one-epoch runs would have
    fresh = RSM(K, F, seed=7, init_scale=0.1)
    for epoch in (1, 2, 3):
        frozen_training.fit_rsm(fresh, docs, epochs=1, seed=epoch, **OPTIONS)
    assert_same_parameters(side, fresh.parameters)


def test_a_subclass_of_rsm_keeps_its_own_trainer(docs):
    class Tempered(RSM):
        def hidden_probs(self, v):
            return super().hidden_probs(v) * 0.5

    fit_rsm(RSM(K, F, seed=1, init_scale=0.1), docs, epochs=1, seed=0, **OPTIONS)
    sub = Tempered(K, F, seed=1, init_scale=0.1)
    fit_rsm(sub, docs, epochs=1, seed=0, **OPTIONS)
    ((trainer, _),) = sub._fit_rsm_runs.trainers.values()
    assert trainer.model is sub                  # not the plain RSMs' shared trainer
    plain = RSM(K, F, seed=1, init_scale=0.1)
    fit_rsm(plain, docs, epochs=1, seed=0, **OPTIONS)
    assert not np.array_equal(sub.W.numpy(), plain.W.numpy())   # its own hidden_probs ran


def test_training_with_the_compiled_sampler_equals_training_with_the_tf_ops(monkeypatch):
    if counts_op.library() is None:
        pytest.skip("the op is not built")
    rng = np.random.default_rng(2)
    docs = rng.poisson(0.05, (120, 4258)).astype(np.float32)
    docs[:, :3] += 1

    def run():
        model = RSM(4258, 20, seed=0, init_scale=0.01)
        history = fit_rsm(model, docs, epochs=2, batch_size=50, learning_rate=1e-3, seed=5,
                          progress=False)
        return history["reconstruction_error"], [p.numpy() for p in model.parameters]

    with_op = run()
    monkeypatch.setattr(counts_op, "_LIBRARY", [None])   # as where the op is not built
    without = run()
    assert with_op[0] == without[0]
    for a, b in zip(with_op[1], without[1]):
        np.testing.assert_array_equal(a, b)


def trained(docs, lean, monkeypatch, model_options=None, **options):
    """A run from a new trainer with the hand-written step (lean) or the tape's: the
    model, its history and its optimizers' variables (moments and step counts)."""
    monkeypatch.setattr(training._Trainer, "lean_step", lean)
    training._SHARED.trainers.clear()
    model = RSM(K, F, seed=1, init_scale=0.1, **(model_options or {}))
    run = {**OPTIONS, "epochs": 3, "seed": 6, **options}
    history = fit_rsm(model, docs.astype(model.W.dtype.as_numpy_dtype), **run)
    ((trainer, _),) = training._SHARED.trainers.values()
    assert trainer.lean is lean
    moments = [v.numpy() for opt in trainer.optimizers for v in opt.variables]
    return model, history, moments


@pytest.mark.parametrize("model_options, options", [
    ({}, {}),
    ({}, dict(hidden_bias_rate=None)),              # one rate: W, b_v and b_h
    ({}, dict(cd_steps=2)),                         # a separate reconstruction
    ({}, dict(cd_steps=(1, 3))),                    # two traced epochs
    ({}, dict(persistent=True)),
    ({}, dict(momentum=0.5, batch_size=7)),         # a short last batch
    ({"dtype": tf.float64}, {}),
    ({"hidden_bias": False}, {}),                   # b_h untrained: one optimizer
])
def test_the_hand_written_step_equals_the_tape_bit_for_bit(docs, monkeypatch,
                                                           model_options, options):
    lean = trained(docs, True, monkeypatch, model_options, **options)
    tape = trained(docs, False, monkeypatch, model_options, **options)
    assert lean[1] == tape[1]
    for a, b in zip(lean[0].parameters, tape[0].parameters):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(lean[2]) == len(tape[2])
    for a, b in zip(lean[2], tape[2]):             # momenta and iterations
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("options", [
    dict(optimizer="adam"), dict(momentum=0.0), dict(weight_decay=1e-3),
])
def test_other_runs_take_the_tape(docs, options):
    fit_rsm(RSM(K, F, seed=1), docs, epochs=1, seed=0, **OPTIONS, **options)
    ((trainer, _),) = training._SHARED.trainers.values()
    assert not trainer.lean


def test_a_callback_that_changes_the_model_and_raises_keeps_its_change(docs):
    def halve_then_stop(epoch, model):
        if epoch == 2:
            model.W.assign(model.W * 0.5)
            raise KeyboardInterrupt

    def halve(epoch, model):
        if epoch == 2:
            model.W.assign(model.W * 0.5)

    model = RSM(K, F, seed=1, init_scale=0.1)
    with pytest.raises(KeyboardInterrupt):
        fit_rsm(model, docs, epochs=4, seed=2, callback=halve_then_stop, **OPTIONS)
    two = RSM(K, F, seed=1, init_scale=0.1)   # the first 2 of those 4 epochs, then halved
    frozen_training.fit_rsm(two, docs, epochs=2, seed=2, callback=halve, **OPTIONS)
    assert_same_parameters(model, two.parameters)
    ((trainer, _),) = training._SHARED.trainers.values()
    assert trainer.model is not model          # the shared trainer trains a copy


def test_a_seed_whose_epoch_seed_wraps_trains_as_the_frozen_run(docs):
    # seed[1]·1,000,003 + epoch overflows int64: Python's _int64 wraps as TensorFlow does
    seed = tf.constant([3, 2**62], tf.int64)
    model = RSM(K, F, seed=1, init_scale=0.1)
    history = fit_rsm(model, docs, epochs=2, seed=seed, **OPTIONS)
    assert_same_run(model, history, frozen_run(docs, 1, epochs=2, seed=seed))


def test_a_run_that_diverges_leaves_the_model_as_the_frozen_run_does(docs):
    runs = []
    for fit in (fit_rsm, frozen_training.fit_rsm):
        model = RSM(K, F, seed=1, init_scale=0.1)
        with pytest.raises(FloatingPointError, match="after epoch 1"):
            fit(model, docs, epochs=3, seed=2, **{**OPTIONS, "learning_rate": 1e37})
        runs.append(model)
    assert not np.isfinite(runs[0].W.numpy()).all()   # the diverged parameters
    assert_same_parameters(runs[0], runs[1].parameters)


TRAIN_IN_A_NEW_PROCESS = """
import sys
import numpy as np
from rsmlib import RSM
from rsmlib.training import fit_rsm
docs = np.random.default_rng(3).poisson(0.3, (150, 300)).astype(np.float32)
docs[:, 0] += 1
model = RSM(300, 8, seed=0, init_scale=0.05)
history = fit_rsm(model, docs, epochs=3, batch_size=40, learning_rate=0.01, seed=2,
                  progress=False)
np.savez(sys.argv[1], *[p.numpy() for p in model.parameters],
         np.array(history["reconstruction_error"]))
"""


def test_tensorflows_bfc_allocator_changes_no_number(tmp_path):
    # A2 and benchmarks/RESULTS.md: TF_CPU_ALLOCATOR_USE_BFC=true is a speed setting only
    import os
    import subprocess
    import sys

    results = []
    for bfc in ("false", "true"):
        out = tmp_path / f"bfc_{bfc}.npz"
        env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": bfc, "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([sys.executable, "-c", TRAIN_IN_A_NEW_PROCESS, str(out)], env=env,
                       check=True, timeout=600)
        with np.load(out) as saved:
            results.append([saved[key] for key in saved.files])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
