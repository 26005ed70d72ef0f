"""Mechanism tests of rsmlib.training (issue 18), through fit_rsm's public behaviour only.

fit_rsm's optimisers may be rewritten (e.g. as Keras optimisers); these tests look only at what a
user sees: the parameters after each epoch, the history, and the checkpoint's persistent chains.
Two exact devices make the updates predictable:
- a one-word vocabulary (K = 1): every negative sample equals the data, so the CD gradient is
  exactly zero and the weight decay (λ/2)·‖W‖² is the whole loss, a quadratic;
- persistent chains saved in the checkpoint: they are the negatives of the last step, so the
  step itself can be recomputed with the model's own ``cd_update``.
"""
import numpy as np
import pytest
import tensorflow as tf

from rsmlib import RSM, fit_rsm
from rsmlib.training import cd_schedule, reconstruction_error

DOCS = np.array([[3, 0, 1, 0, 0, 2], [0, 4, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1], [0, 0, 5, 0, 2, 0],
                 [2, 2, 0, 0, 0, 0], [0, 1, 0, 3, 0, 4]], np.float64)


def one_word_model():
    model = RSM(1, 3, seed=4, init_scale=1.0, dtype=tf.float64)
    return model, model.W.numpy().copy()


# --- the optimiser on a pure quadratic ------------------------------------------------------

def test_momentum_steps_follow_the_heavy_ball_recursion_on_a_quadratic():
    # loss (λ/2)‖W‖², gradient λW: Δ ← μΔ − rλW, W ← W + Δ; ‖W‖ falls at every step
    model, W0 = one_word_model()
    lam, rate, mu = 2.0, 0.1, 0.5
    norms = []
    W, delta = W0.copy(), np.zeros_like(W0)
    history = fit_rsm(model, [[5.0], [3.0]], epochs=3, batch_size=2, learning_rate=rate, seed=0,
                      momentum=mu, weight_decay=lam, progress=False,
                      callback=lambda e, m: {"W": m.W.numpy().copy()})
    for step in range(3):
        delta = mu * delta - rate * lam * W
        W = W + delta
        norms.append(np.linalg.norm(history["W"][step]))
        np.testing.assert_allclose(history["W"][step], W, rtol=1e-7)   # rate in float32
    assert norms[0] < np.linalg.norm(W0) and norms[1] < norms[0] and norms[2] < norms[1]


def test_the_biases_do_not_move_when_the_cd_gradient_is_zero():
    model, _ = one_word_model()
    fit_rsm(model, [[5.0], [3.0]], epochs=2, batch_size=1, learning_rate=0.1, seed=0,
            progress=False)
    np.testing.assert_array_equal(model.b_v.numpy(), [0.0])
    np.testing.assert_array_equal(model.b_h.numpy(), np.zeros(3))


def test_adams_first_step_moves_each_weight_by_the_learning_rate_towards_zero():
    # bias-corrected moments: the first step is −rate·g/(|g| + ε') = −rate·sign(W), up to ε'
    # (ε on the uncorrected √v: a relative 3e-6 here)
    model, W0 = one_word_model()
    fit_rsm(model, [[5.0], [3.0]], epochs=1, batch_size=2, learning_rate=0.01, seed=0,
            optimizer="adam", weight_decay=1.0, progress=False)
    np.testing.assert_allclose(model.W.numpy(), W0 - 0.01 * np.sign(W0), rtol=0, atol=1e-7)


# --- persistent chains ----------------------------------------------------------------------

def small_model():
    model = RSM(6, 3, seed=1, init_scale=0.5, dtype=tf.float64)
    model.b_v.assign(tf.random.stateless_normal([6], [0, 1], dtype=tf.float64))
    return model


def saved_chains(path):
    """The persistent chains in the checkpoint ``path`` (a directory: its latest checkpoint)."""
    reader = tf.train.load_checkpoint(str(path))
    keys = [k for k in reader.get_variable_to_shape_map() if "chains" in k and "OPTIMIZER" not in k]
    assert len(keys) == 1, keys
    return reader.get_tensor(keys[0])


def test_each_step_uses_the_saved_persistent_chains_as_its_negatives(tmp_path):
    # one batch per epoch, momentum μ: θ_e − θ_{e-1} = μ(θ_{e-1} − θ_{e-2}) + rate·cd_update(docs,
    # chains_e), with chains_e the chains saved after epoch e (those of epoch 1 carried over)
    rate, mu = 0.05, 0.5
    model = small_model()
    theta = [[p.numpy().copy() for p in model.parameters]]
    fit_rsm(model, DOCS, epochs=2, batch_size=6, cd_steps=2, learning_rate=rate, seed=3,
            persistent=True, momentum=mu, checkpoint_dir=tmp_path, progress=False,
            callback=lambda e, m: theta.append([p.numpy().copy() for p in m.parameters]))
    chains = [saved_chains(tmp_path / f"ckpt-{e}") for e in (1, 2)]
    np.testing.assert_array_equal(chains[0].sum(1), DOCS.sum(1))      # lengths are kept
    assert not np.array_equal(chains[0], DOCS) and not np.array_equal(chains[1], chains[0])
    for epoch, negatives in ((1, chains[0]), (2, chains[1])):
        before = small_model()
        for p, value in zip(before.parameters, theta[epoch - 1]):
            p.assign(value)
        update = before.cd_update(DOCS, negatives)
        for i in range(3):
            previous = theta[epoch - 1][i] - theta[epoch - 2][i] if epoch == 2 else 0.0
            np.testing.assert_allclose(theta[epoch][i] - theta[epoch - 1][i],
                                       mu * previous + rate * update[i].numpy(),
                                       rtol=1e-6, atol=1e-9)


def test_persistent_chains_are_carried_over_between_epochs():
    # one batch per epoch: the first epoch of PCD is CD (chains start at the data); the second
    # starts from the chains, so it differs from CD's, which restarts at the data
    runs = {}
    for persistent in (False, True):
        for epochs in (1, 2):
            model = small_model()
            fit_rsm(model, DOCS, epochs=epochs, batch_size=6, learning_rate=0.05, seed=3,
                    persistent=persistent, progress=False)
            runs[persistent, epochs] = model.W.numpy()
    np.testing.assert_array_equal(runs[False, 1], runs[True, 1])
    assert np.abs(runs[False, 2] - runs[True, 2]).max() > 1e-6


def test_identical_documents_in_different_batches_get_different_negatives(tmp_path):
    # a 200-word vocabulary and 50-word documents: the same seed for two batches would give the
    # two (identical) documents nearly the same chain; independent draws share few words
    docs = np.zeros([2, 200])
    docs[:, :50] = 1.0
    model = RSM(200, 2, seed=0, init_scale=0.01, dtype=tf.float64)
    fit_rsm(model, docs, epochs=1, batch_size=1, learning_rate=1e-6, seed=5, persistent=True,
            checkpoint_dir=tmp_path, progress=False)
    chains = saved_chains(tmp_path)
    np.testing.assert_array_equal(chains.sum(1), [50, 50])
    assert np.minimum(chains[0], chains[1]).sum() < 30, np.minimum(chains[0], chains[1]).sum()


def test_both_halves_of_a_pair_seed_reach_the_negatives():
    # one document, one batch: the data order is the same for every seed, so only the
    # negatives' seeds can tell seeds (1, 5) and (2, 5) apart; they must differ, since
    # "everything random derives from seed" (a batch seed built from seed[1] alone makes
    # the two runs identical)
    docs = DOCS[:1]
    runs = []
    for seed in ([1, 5], [2, 5], [1, 5]):
        model = small_model()
        fit_rsm(model, docs, epochs=2, batch_size=1, learning_rate=0.1,
                seed=tf.constant(seed, tf.int64), progress=False)
        runs.append(model.W.numpy())
    np.testing.assert_array_equal(runs[0], runs[2])
    assert np.abs(runs[0] - runs[1]).max() > 1e-6


def test_the_data_order_of_each_epoch_depends_on_the_whole_pair_seed(monkeypatch):
    # the one test here that looks inside fit_rsm: the order is seen only through the
    # trajectory, which the negatives' seeds change anyway, so record the order that each
    # traced epoch receives. Seeds (1, 5) and (2, 5) must shuffle differently (an order
    # seeded without seed[0] is the same for both), and each order is a permutation
    from rsmlib import training

    original = training._epoch_for
    orders = {}

    def recording(trainer, k, batch_size, key):
        epoch_function = original(trainer, k, batch_size, key)

        def epoch(docs, order, epoch_seed):
            orders[current].append(np.asarray(order).tolist())
            return epoch_function(docs, order, epoch_seed)

        return epoch

    monkeypatch.setattr(training, "_epoch_for", recording)
    docs = np.tile(DOCS, (4, 1))  # 24 documents
    for current in ((1, 5), (2, 5)):
        orders[current] = []
        fit_rsm(small_model(), docs, epochs=3, batch_size=8, learning_rate=0.05,
                seed=tf.constant(current, tf.int64), progress=False)
    for run in orders.values():
        assert len(run) == 3 and all(sorted(o) == list(range(24)) for o in run)
    assert all(a != b for a, b in zip(orders[1, 5], orders[2, 5]))


# --- the CD-k ramp --------------------------------------------------------------------------

@pytest.mark.parametrize("k, epochs, expected", [
    ((1, 5), 5, [1, 2, 3, 4, 5]), ((1, 5), 3, [1, 3, 5]), ((1, 3), 9, [1, 1, 2, 2, 2, 2, 2, 3, 3]),
    ((5, 1), 3, [5, 3, 1]), ((2, 7), 1, [2]), (3, 4, [3, 3, 3, 3])])
def test_cd_schedule_hits_its_endpoints_exactly(k, epochs, expected):
    assert cd_schedule(k, epochs) == expected


def test_fit_rsm_records_the_ramped_k_of_each_epoch():
    history = fit_rsm(small_model(), DOCS, epochs=3, batch_size=6, cd_steps=(1, 3),
                      learning_rate=0.01, seed=0, progress=False)
    assert history["cd_steps"] == [1, 2, 3] and history["epoch"] == [1, 2, 3]


def test_reconstruction_error_is_the_squared_count_error_per_word():
    v = tf.constant([[2.0, 0.0, 2.0], [1.0, 0.0, 0.0]])
    v_model = tf.constant([[1.0, 1.0, 2.0], [0.0, 1.0, 0.0]])
    # row 0: (1 + 1 + 0) / 4 words; row 1: (1 + 1) / 1 word; mean over the rows
    assert float(reconstruction_error(v, v_model)) == pytest.approx((0.5 + 2.0) / 2)


def test_a_keras_optimizer_object_takes_the_steps_and_a_second_learning_rate_is_refused():
    # SGD(r) on the quadratic (λ/2)‖W‖² of a one-word vocabulary: W ← (1 − rλ) W per step
    keras = pytest.importorskip("keras")
    model, W0 = one_word_model()
    fit_rsm(model, DOCS[:, :1] + 1, epochs=2, batch_size=6, seed=0, progress=False,
            optimizer=keras.optimizers.SGD(0.1), weight_decay=0.5)
    np.testing.assert_allclose(model.W.numpy(), (1 - 0.1 * 0.5) ** 2 * W0, rtol=1e-6)
    with pytest.raises(ValueError, match="learning_rate must be None"):
        fit_rsm(model, DOCS[:, :1] + 1, epochs=1, seed=0, progress=False, learning_rate=0.1,
                optimizer=keras.optimizers.SGD(0.1))


@pytest.mark.parametrize("arg", ["epochs", "batch_size"])
def test_fit_rsm_refuses_zero_epochs_and_an_empty_batch_naming_the_argument(arg):
    model = RSM(6, 2, dtype=tf.float64)
    options = dict(epochs=1, batch_size=2, seed=0, progress=False, learning_rate=0.1)
    options[arg] = 0
    with pytest.raises(ValueError, match=f"{arg} must be a positive int"):
        fit_rsm(model, DOCS, **options)
