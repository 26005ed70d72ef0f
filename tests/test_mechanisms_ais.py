"""Mechanism tests of rsmlib.ais and rsmlib.partition: the two AIS estimators and the enumerations (issue 18).

AIS is unbiased for Z_B / Z_A whatever the schedule, if and only if each transition leaves its
intermediate distribution invariant. On models small enough to enumerate, a three-point schedule
(one transition, at β = 0.5) therefore tests the transition at an intermediate temperature, and a
one-word vocabulary (no randomness at all) tests the weight arithmetic to rounding.
"""
import itertools

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from rsmlib import RSM, ais_log_partition, binary_states
from rsmlib.ais import (_ais_runs, _length_runs, ais_log_partition_by_length,
                              temperature_path_hidden_log_probs)

NUM_RUNS = 20_000


def far_model():
    """3 words, 2 hidden units, strong weights; the base rates b_A far from the model's b_v."""
    model = RSM(3, 2, seed=5, init_scale=2.0, dtype=tf.float64)
    model.b_v.assign([1.5, -1.0, 0.0])
    model.b_h.assign([0.5, -0.5])
    return model, np.log([0.1, 0.3, 0.6])


@pytest.mark.parametrize("D", [3, 6])
def test_ais_with_one_intermediate_temperature_is_unbiased(D):
    # with betas (0, 0.5, 1) the only transition that matters runs at β = 0.5: one that leaves
    # p_1 (or p_0) invariant instead is biased by 0.1 to 1 nat here
    model, b_a = far_model()
    exact = float(model.log_partition_exact(D))
    log_z, stderr = ais_log_partition(model, D, num_runs=NUM_RUNS, betas=[0, 0.5, 1], seed=1,
                                      base_log_probs=b_a)
    assert stderr < 0.02
    assert abs(log_z - exact) < 4 * stderr + 0.01, (log_z - exact, stderr)


def test_ais_with_several_temperatures_is_unbiased_for_every_length():
    model, b_a = far_model()
    D = [2, 5]
    exact = model.log_partition_exact(D).numpy()
    log_z, stderr = ais_log_partition(model, D, num_runs=NUM_RUNS, num_betas=6, seed=2,
                                      base_log_probs=b_a)
    assert log_z.shape == stderr.shape == (2,)
    assert np.all(np.abs(log_z - exact) < 4 * stderr + 0.01), (log_z - exact, stderr)


def test_a_two_point_schedule_is_plain_importance_sampling_from_the_base_model():
    # betas (0, 1), the shortest schedule the docstring allows: no transition, one weight
    # f_1(v) / f_0(v) per draw from p_A, an unbiased estimate of Z_B / Z_A
    model, b_a = far_model()
    exact = float(model.log_partition_exact(2))
    log_z, stderr = ais_log_partition(model, 2, num_runs=NUM_RUNS, betas=[0, 1], seed=4,
                                      base_log_probs=b_a)
    assert stderr < 0.05
    assert abs(log_z - exact) < 4 * stderr + 0.01, (log_z - exact, stderr)


def test_ais_log_weights_are_float64():
    model, b_a = far_model()
    params = [tf.cast(p, tf.float32) for p in (*model.parameters, tf.constant(b_a))]
    log_w = _ais_runs(*params, tf.constant([3, 3], tf.int32), tf.linspace(0.0, 1.0, 4),
                      tf.random.experimental.stateless_split([0, 1], 8))
    assert log_w.dtype == tf.float64 and log_w.shape == (2,)


def test_ais_weights_are_exact_to_rounding_for_a_one_word_vocabulary():
    # K = 1: every document is v = (D,), so AIS has no randomness and must return log Z_D up to
    # rounding. log Z_D is about 1e5, accumulated over 3,000 increments: observed off by 3e-3
    # (the float32 increments); summed in float32 instead of float64, off by 3.4
    model = RSM(1, 3, seed=2, init_scale=1.0, dtype=tf.float64)
    model.b_v.assign([100.0])
    model.b_h.assign([0.2, -0.3, 0.1])
    exact = float(model.log_partition_exact(1000))
    log_z, stderr = ais_log_partition(model, 1000, num_runs=2, num_betas=3000, seed=1,
                                      base_log_probs=[0.0])
    assert stderr == 0.0
    assert abs(log_z - exact) < 1e-2, log_z - exact


def test_ais_base_model_log_partition_is_added():
    # with the model equal to its own base (W = 0), every weight is 1 and log Z = log Z_A exactly
    model = RSM(4, 2, seed=0, dtype=tf.float64)
    model.W.assign(tf.zeros([4, 2], tf.float64))
    model.b_v.assign([0.3, -1.0, 2.0, 0.0])
    log_z, stderr = ais_log_partition(model, [1, 7], num_runs=3, num_betas=3, seed=0)
    log_z_a = np.array([1, 7]) * np.log(np.exp(model.b_v.numpy()).sum()) + 2 * np.log(2.0)
    np.testing.assert_allclose(log_z, log_z_a, rtol=1e-6)
    np.testing.assert_allclose(stderr, 0.0, atol=1e-6)


# --- AIS over the document length ----------------------------------------------------------

def length_model():
    """a(h) spread over about 3 nats: log Z_d curves strongly in d (slope 1.8 at d = 1, 3 later)."""
    model = RSM(3, 2, seed=3, dtype=tf.float64)
    model.W.assign([[3.0, 0.0], [0.0, 3.0], [-1.0, -1.0]])
    model.b_h.assign([-1.0, 0.5])
    return model


@pytest.mark.parametrize("gibbs_steps", [1, 3])
def test_length_ais_is_unbiased_at_every_length(gibbs_steps):
    # its Gibbs sweep at length d must draw all d words: a sweep that draws d - 1 leaves
    # p_{d-1} invariant and underestimates log Z_10 by about 0.1 nat
    model = length_model()
    D = [1, 2, 5, 10]
    exact = model.log_partition_exact(D).numpy()
    log_z, stderr = ais_log_partition_by_length(model, D, num_runs=4000, seed=2,
                                                gibbs_steps=gibbs_steps)
    assert np.all(stderr < 0.03)
    assert np.all(np.abs(log_z - exact) < 3 * stderr + 0.01), (log_z - exact, stderr)


def test_length_ais_at_d_equal_one_is_the_uniform_average_of_exp_a():
    # Z_1 = Σ_h exp(a(h)): the first increment averages exp(a(h)) over uniform h, and
    # log Z_0 = F log 2 is added back
    model = length_model()
    log_z, stderr = ais_log_partition_by_length(model, 1, num_runs=NUM_RUNS, seed=7)
    assert abs(log_z - float(model.log_partition_exact(1))) < 4 * stderr + 1e-3


def one_sweep_kernel(model, d):
    """The exact Gibbs sweep of length-annealed AIS at d words: T[h, h'] = Σ_v p(v | h, d)
    p(h' | v, d), over the (2^F, 2^F) hidden states in binary order."""
    W, b_v, b_h = (p.numpy() for p in model.parameters)
    states = np.asarray(binary_states(model.num_hidden), float)
    T = np.zeros((len(states), len(states)))
    for v in itertools.product(range(d + 1), repeat=model.vocab_size):
        if sum(v) != d:
            continue
        v = np.array(v, float)
        p_h = 1 / (1 + np.exp(-(d * b_h + v @ W)))  # (F,)
        p_h_given_v = np.prod(np.where(states == 1, p_h, 1 - p_h), axis=1)  # (2^F,)
        for i, h in enumerate(states):
            logits = b_v + W @ h
            p_v = np.exp(logits - logits.max())
            T[i] += stats.multinomial.pmf(v, d, p_v / p_v.sum()) * p_h_given_v
    return T


def test_length_ais_chains_move_by_k_exact_sweeps_per_length():
    # a run's log-weight grows by a(h) of its hidden state after each length, and a(h) takes
    # 4 distinct values here, so the log-weights reveal the chains' states h_d. Started
    # uniform, h_d is distributed as μ_d = μ_{d-1} T_d^k, T_d the exact sweep at d words.
    # Sweeps that draw their words from the h the first sweep started from (k sweeps acting
    # as one: still unbiased, only slower to mix) give μ_{d-1} T_d instead, rejected here
    # at p < 1e-100
    model = RSM(3, 2, seed=3, init_scale=4.0, dtype=tf.float64)
    k, max_d, runs = 3, 4, 20_000
    seeds = tf.reshape(tf.random.experimental.stateless_split([0, 7], (max_d + 1) * 2 * k),
                       [max_d + 1, 2 * k, 2])
    params = [tf.cast(p, tf.float32) for p in model.parameters]
    log_w = _length_runs(*params, tf.constant(max_d), tf.constant(k), tf.constant(runs),
                         seeds).numpy()
    increments = np.diff(log_w, axis=0)  # (max_d, runs): a(h_0), ..., a(h_{max_d - 1})
    h = tf.cast(binary_states(2), tf.float32)
    W, b_v, b_h = params
    a = (tf.linalg.matvec(h, b_h)
         + tf.reduce_logsumexp(b_v + tf.matmul(h, W, transpose_b=True), axis=-1)).numpy()
    assert np.min(np.abs(a[:, None] - a[None, :]) + 10 * np.eye(4)) > 0.1
    distance = np.abs(increments[..., None] - a)  # (max_d, runs, 4)
    assert np.all(distance.min(axis=-1) < 1e-5)
    state = distance.argmin(axis=-1)
    mu = np.full(4, 0.25)
    for d in range(1, max_d):
        mu = mu @ np.linalg.matrix_power(one_sweep_kernel(model, d), k)
        observed = np.bincount(state[d], minlength=4)
        p_value = stats.chisquare(observed, runs * mu).pvalue
        assert p_value > 1e-3, (d, observed, np.round(runs * mu))


# --- the enumerations ---------------------------------------------------------------------

def test_binary_states_lists_every_state_once_in_binary_order():
    states = binary_states(4, tf.int32).numpy()
    assert states.shape == (16, 4)
    assert [tuple(s) for s in states] == list(itertools.product([0, 1], repeat=4))
    assert binary_states(0).shape == (1, 0)


def test_temperature_path_is_the_base_at_beta_zero_and_the_model_at_one():
    model, b_a = far_model()
    log_p = temperature_path_hidden_log_probs(model, 4, [0.0, 1.0], b_a).numpy()
    np.testing.assert_allclose(log_p[0], np.full(4, -np.log(4.0)), atol=1e-12)   # p_0(h) uniform
    # p_1(h) ∝ exp(D a(h)), a(h) = b_h·h + logsumexp(b_v + W h)
    W, b_v, b_h = (p.numpy() for p in model.parameters)
    hs = binary_states(2, tf.float64).numpy()
    a = hs @ b_h + np.log(np.exp(b_v + hs @ W.T).sum(1))
    expected = 4 * a - np.log(np.exp(4 * a).sum())
    np.testing.assert_allclose(log_p[1], expected, atol=1e-12)


@pytest.mark.parametrize("D", [np.inf, [3.0, np.inf], [np.nan], [2.5], [0]])
def test_both_ais_estimators_refuse_lengths_that_are_not_whole_and_finite(D):
    model = RSM(3, 2, dtype=tf.float64)
    with pytest.raises(ValueError, match="D must hold document lengths"):
        ais_log_partition(model, D, num_runs=2, num_betas=2, seed=0)
    with pytest.raises(ValueError, match="D must hold document lengths"):
        ais_log_partition_by_length(model, D, num_runs=2, seed=0)
