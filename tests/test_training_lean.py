"""fit_rsm's lean step (issue 17): one traced epoch per model, reused across calls, with
the results of the frozen implementation (tests/frozen_training.py) bit for bit; and the
compiled sampler leaves training exactly as TensorFlow's ops would."""
import copy

import numpy as np
import pytest
import tensorflow as tf

import frozen_training
from rsmlib import RSM, counts_op
from rsmlib.training import fit_rsm

keras = pytest.importorskip("keras")

K, F = 40, 5
OPTIONS = dict(batch_size=16, learning_rate=0.05, hidden_bias_rate=1e-3, progress=False)


@pytest.fixture(scope="module")
def docs():
    counts = np.random.default_rng(1).poisson(1.0, (50, K)).astype(np.float32)
    counts[:, 0] += 1
    return counts


def epoch_functions(model):
    return [f for _, epochs in model._fit_rsm_runs.trainers.values() for f in epochs.values()]


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
        for a, b in zip(model.parameters, fresh.parameters):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    (epoch,) = epoch_functions(model)
    assert epoch.experimental_get_tracing_count() == 1


def test_the_cache_is_no_part_of_the_model(docs):
    model = RSM(K, F, seed=1, init_scale=0.1)
    names = [v.name for v in model.variables]
    fit_rsm(model, docs, epochs=1, seed=0, **OPTIONS)
    assert [v.name for v in model.variables] == names     # no optimizer moment joined them
    twin = copy.deepcopy(model)
    assert twin._fit_rsm_runs.trainers == {}               # a copy starts without trainers
    fit_rsm(model, docs, epochs=1, seed=0, **{**OPTIONS, "learning_rate": 0.01})
    assert len(model._fit_rsm_runs.trainers) == 2          # another rate: another trainer


def test_a_sweep_of_rates_keeps_only_the_latest_trainers(docs):
    # each trainer holds its documents and optimizer state: a sweep must not pile them up
    model = RSM(K, F, seed=1, init_scale=0.1)
    rates = [0.001 * (i + 1) for i in range(6)]
    for rate in rates:
        fit_rsm(model, docs, epochs=1, seed=0, **{**OPTIONS, "learning_rate": rate})
    kept = [key[1] for key in model._fit_rsm_runs.trainers]
    assert kept == rates[-4:]  # MAX_TRAINERS = 4, oldest dropped first
    fit_rsm(model, docs, epochs=1, seed=0, **{**OPTIONS, "learning_rate": rates[2]})
    assert [key[1] for key in model._fit_rsm_runs.trainers][-1] == rates[2]  # the latest


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
