"""Unit and property tests of rsmlib.rbm (Chapter 1): each identity the chapter proves."""
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings, strategies as st

import rsmlib
from rsmlib import RBM, binary_states


def random_rbm(K, F, seed, scale=1.0):
    rbm = RBM(K, F, seed=seed, init_scale=scale, dtype=tf.float64)
    rbm.b_v.assign(tf.random.stateless_normal([K], [1, seed], dtype=tf.float64))
    rbm.b_h.assign(tf.random.stateless_normal([F], [2, seed], dtype=tf.float64))
    return rbm


def brute_force_free_energy(rbm, v):
    """-log Σ_h exp(-E(v, h)) by enumerating all hidden states."""
    h = binary_states(rbm.num_hidden)
    out = []
    for row in v:
        energies = rbm.energy(tf.repeat(row[None], len(h), axis=0), h)
        out.append(-tf.reduce_logsumexp(-energies))
    return tf.stack(out)


@settings(max_examples=15, deadline=None)
@given(K=st.integers(1, 6), F=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_free_energy_equals_enumeration(K, F, seed):
    rbm = random_rbm(K, F, seed)
    v = binary_states(K)
    np.testing.assert_allclose(rbm.free_energy(v), brute_force_free_energy(rbm, v),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("K,F", [(5, 7), (7, 5)])  # both enumeration branches
def test_log_partition_equals_joint_enumeration(K, F):
    rbm = random_rbm(K, F, seed=3)
    v, h = binary_states(K), binary_states(F)
    pairs_v = tf.repeat(v, len(h), axis=0)
    pairs_h = tf.tile(h, [len(v), 1])
    log_z = tf.reduce_logsumexp(-rbm.energy(pairs_v, pairs_h))
    np.testing.assert_allclose(rbm.log_partition_exact(), log_z, rtol=1e-13)
    np.testing.assert_allclose(tf.reduce_sum(tf.exp(rbm.log_prob_exact(v))), 1.0, rtol=1e-12)


def test_conditionals_are_the_sigmoids_of_the_energy():
    rbm = random_rbm(4, 3, seed=5)
    v, h = binary_states(4), binary_states(3)
    E = tf.reshape(rbm.energy(tf.repeat(v, len(h), axis=0), tf.tile(h, [len(v), 1])),
                   [len(v), len(h)])
    np.testing.assert_allclose(rbm.hidden_probs(v), tf.nn.softmax(-E, axis=1) @ h, rtol=1e-12)
    np.testing.assert_allclose(rbm.visible_probs(h), tf.nn.softmax(-tf.transpose(E), axis=1) @ v,
                               rtol=1e-12)


def test_autodiff_of_cd_loss_is_minus_cd_update_even_for_a_differentiable_negative():
    """The stop-gradient must cut every path through v_model, including a mean-field one."""
    rbm = random_rbm(6, 4, seed=7)
    data = tf.constant(np.random.default_rng(0).integers(0, 2, (20, 6)), tf.float64)
    with tf.GradientTape() as tape:
        v_model = rbm.visible_probs(rbm.hidden_probs(data))  # depends on the parameters
        loss = rbm.cd_loss(data, v_model)
    grads = tape.gradient(loss, rbm.parameters)
    hand = rbm.cd_update(data, v_model)
    assert rsmlib.relative_error([-g for g in grads], hand) < 1e-12


def test_cd_update_is_a_mean_over_rows():
    rbm = random_rbm(6, 4, seed=8)
    data = tf.constant(np.random.default_rng(1).integers(0, 2, (10, 6)), tf.float64)
    neg = rbm.gibbs(data, 1, seed=3)
    doubled = rbm.cd_update(tf.concat([data, data], 0), tf.concat([neg, neg], 0))
    assert rsmlib.relative_error(doubled, rbm.cd_update(data, neg)) < 1e-12


def test_exact_gradient_is_data_minus_model():
    rbm = random_rbm(5, 4, seed=9)
    data = tf.constant(np.random.default_rng(2).integers(0, 2, (30, 5)), tf.float64)
    with tf.GradientTape() as tape:
        ll = tf.reduce_mean(rbm.log_prob_exact(data))
    grads = tape.gradient(ll, rbm.parameters)
    all_v = binary_states(5)
    p = tf.exp(rbm.log_prob_exact(all_v))
    # The model term of the CD update with v_model = all states weighted by p(v):
    weighted = [tf.tensordot(p, g, axes=1) for g in _minus_dF(rbm, all_v)]
    data_term = [tf.reduce_mean(g, axis=0) for g in _minus_dF(rbm, data)]
    assert rsmlib.relative_error(grads, [d - m for d, m in zip(data_term, weighted)]) < 1e-12


def _minus_dF(rbm, v):
    s = rbm.hidden_probs(v)
    return v[:, :, None] * s[:, None, :], v, s


def test_gibbs_is_deterministic_given_the_seed():
    rbm = random_rbm(6, 4, seed=10)
    v = tf.constant(np.random.default_rng(3).integers(0, 2, (50, 6)), tf.float64)
    a, b = rbm.gibbs(v, 3, seed=42), rbm.gibbs(v, 3, seed=42)
    c = rbm.gibbs(v, 3, seed=43)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(rbm.gibbs(v, 0, seed=1), v)


def test_construction_is_deterministic_given_the_seed():
    np.testing.assert_array_equal(RBM(5, 3, seed=4).W, RBM(5, 3, seed=4).W)
    assert not np.array_equal(RBM(5, 3, seed=4).W, RBM(5, 3, seed=5).W)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((2, 5)), "v must have 6 columns"),
    (np.zeros(6), r"v must have shape \(N, 6\)"),
    (np.array([[0, 1, 2, 0, 0, 0.0]]), r"v must hold values in \[0, 1\].*found 2 at row 0, column 2"),
    (np.array([[0, 1, np.nan, 0, 0, 0.0]]), r"v must hold values in \[0, 1\].*nan"),
    (np.array([[0, -1, 0, 0, 0, 0.0]]), r"v must hold values in \[0, 1\].*found -1 at row 0, column 1"),
])
def test_bad_visible_input_is_rejected_with_a_clear_message(bad, match):
    rbm = RBM(6, 3)
    with pytest.raises(ValueError, match=match):
        rbm.free_energy(bad)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="num_visible must be a positive int"):
        RBM(0, 3)
    with pytest.raises(ValueError, match="num_hidden must be a positive int"):
        RBM(3, 2.5)
    with pytest.raises(TypeError, match="dtype must be a floating type"):
        RBM(3, 2, dtype=tf.int32)
    with pytest.raises(ValueError, match="k must be a non-negative int"):
        RBM(3, 2).gibbs(np.zeros((1, 3)), -1, seed=0)
    with pytest.raises(TypeError, match="seed must be an int or an integer tensor of shape"):
        rsmlib.as_seed(1.5)
    with pytest.raises(ValueError, match="n must be at most 20"):
        binary_states(21)
    with pytest.raises(ValueError, match="needs min\\(K, F\\) <= 20"):
        RBM(21, 21).log_partition_exact()


def test_checks_raise_when_a_claim_fails(capsys):
    rsmlib.check_close("t.1", "close", 1.0 + 1e-9, 1.0, rtol=1e-6)
    assert capsys.readouterr().out.strip().endswith(": True")
    with pytest.raises(AssertionError, match=r"\[t.2\] far"):
        rsmlib.check_close("t.2", "far", 1.1, 1.0, rtol=1e-6)
    assert rsmlib.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    with pytest.raises(ValueError, match="same number of entries"):
        rsmlib.relative_error([1.0, 2.0], [1.0])


def test_library_imports_and_has_a_version():
    assert isinstance(rsmlib.__version__, str) and rsmlib.__version__.count(".") == 2
