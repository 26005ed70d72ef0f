"""Mechanism tests of rsmlib.sampling and the Gibbs samplers of rsmlib.rbm / rsmlib.rsm (issue 18).

Each test pins a property that a plausible bug breaks: exactness of the samplers at extreme
logits, fresh randomness at every Gibbs step, and k-step Gibbs equal to the k-th power of the
exact one-step transition matrix on models small enough to enumerate.
"""
import itertools

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

import rsmlib.rbm
import rsmlib.rsm
from rsmlib import RBM, RSM, as_seed, bernoulli, binary_states, multinomial_counts, split_seed


# --- seeds ----------------------------------------------------------------------------------

def test_as_seed_puts_an_int_in_the_second_slot_and_keeps_pairs():
    assert as_seed(7).numpy().tolist() == [0, 7]
    assert as_seed(tf.constant([3, 9], tf.int32)).numpy().tolist() == [3, 9]
    assert as_seed(np.array([3, 9])).dtype == tf.int64
    # shapes (3,), (1,), (1, 2), (2, 2) and (); floats; a bool
    for bad in ([1, 2, 3], [5], [[1, 2]], [[1, 2], [3, 4]], tf.constant(5), [1.0, 2.0], True):
        with pytest.raises(TypeError, match="seed"):
            as_seed(bad)


def test_split_seed_gives_n_distinct_seeds_that_differ_from_the_parent():
    seeds = split_seed(5, 6).numpy()
    assert seeds.shape == (6, 2)
    assert len({tuple(s) for s in seeds} | {(0, 5)}) == 7
    np.testing.assert_array_equal(seeds, split_seed([0, 5], 6).numpy())   # same seed, same split
    assert not np.array_equal(seeds, split_seed(6, 6).numpy())


# --- the samplers at extreme logits ---------------------------------------------------------

@pytest.mark.parametrize("shift", [1e4, -1e4])
def test_multinomial_counts_is_exact_for_logits_of_plus_minus_1e4(shift):
    # p = (1, 0, 3) / 4: exp(1e4) overflows float64, so only the max-shift makes this work
    logits = tf.constant([[shift, shift - 2e4, shift + np.log(3.0)]] * 4, tf.float64)
    counts = multinomial_counts(logits, 2500, seed=11).numpy()
    assert np.all(np.isfinite(counts)) and np.all(counts.sum(1) == 2500)
    assert np.all(counts[:, 1] == 0)
    pooled = counts.sum(0)
    assert stats.binomtest(int(pooled[0]), 10_000, 0.25).pvalue > 1e-4, pooled


def test_multinomial_counts_of_a_single_huge_logit_puts_every_word_there():
    logits = tf.constant([[0.0, 1e4, -1e4], [-1e4, -1e4, 1e4]], tf.float32)
    counts = multinomial_counts(logits, [7, 3], seed=2).numpy()
    np.testing.assert_array_equal(counts, [[0, 7, 0], [0, 0, 3]])


def test_multinomial_counts_keeps_each_rows_own_length():
    counts = multinomial_counts(tf.zeros([3, 5]), [1, 4, 9], seed=1).numpy()
    np.testing.assert_array_equal(counts.sum(1), [1, 4, 9])


def test_bernoulli_is_exact_at_zero_and_one_and_its_mean_is_p():
    p = tf.constant([[0.0, 1.0, 0.3]] * 20_000, tf.float64)
    x = bernoulli(p, seed=4).numpy()
    assert np.all(x[:, 0] == 0) and np.all(x[:, 1] == 1)
    assert stats.binomtest(int(x[:, 2].sum()), 20_000, 0.3).pvalue > 1e-4


def test_bernoulli_never_fires_at_probability_zero_even_when_u_is_exactly_zero():
    # float32 uniforms are multiples of 2^-23, so 0 itself comes up about once in 8 million
    # draws: the comparison must be u < p, strict (u <= p would turn on a unit with p = 0)
    n, seed = 1 << 24, 2
    u = tf.random.stateless_uniform([n], as_seed(seed), dtype=tf.float32)
    assert int(tf.reduce_sum(tf.cast(u == 0, tf.int32))) > 0       # the case is exercised
    assert float(tf.reduce_sum(bernoulli(tf.zeros([n]), seed))) == 0.0


# --- Gibbs: a fresh seed for every step -----------------------------------------------------

def record_seeds(monkeypatch, module, *names):
    """Wrap the samplers ``names`` of ``module`` so that every seed they receive is recorded."""
    seen = []
    for name in names:
        original = getattr(module, name)

        def wrapped(*args, _original=original, **kwargs):
            seed = kwargs["seed"] if "seed" in kwargs else args[-1]
            seen.append(tuple(as_seed(seed).numpy().tolist()))
            return _original(*args, **kwargs)
        monkeypatch.setattr(module, name, wrapped)
    return seen


def test_rsm_gibbs_draws_every_step_with_its_own_seed(monkeypatch):
    model = RSM(5, 3, seed=0)
    seen = record_seeds(monkeypatch, rsmlib.rsm, "bernoulli", "multinomial_counts")
    model.gibbs(tf.ones([2, 5]), 4, seed=9)
    assert len(seen) == 8 and len(set(seen)) == 8, seen


def test_rbm_gibbs_draws_every_step_with_its_own_seed(monkeypatch):
    model = RBM(5, 3, seed=0)
    seen = record_seeds(monkeypatch, rsmlib.rbm, "bernoulli")
    model.gibbs(tf.ones([2, 5]), 4, seed=9)
    assert len(seen) == 8 and len(set(seen)) == 8, seen


# --- Gibbs: k steps are the k-th power of the exact transition ------------------------------

def rsm_transition(model, D):
    """Exact one-step transition v -> h -> v' over all count vectors of D words (K = 2)."""
    W, b_v, b_h = (p.numpy().astype(float) for p in model.parameters)
    states = np.array([[a, D - a] for a in range(D + 1)], float)
    hs = binary_states(model.num_hidden, tf.float64).numpy()
    P = np.zeros((len(states), len(states)))
    for i, v in enumerate(states):
        p_h = 1 / (1 + np.exp(-(D * b_h + v @ W)))
        for h in hs:
            ph = np.prod(np.where(h == 1, p_h, 1 - p_h))
            logits = b_v + W @ h
            q = np.exp(logits - logits.max())
            q /= q.sum()
            for j, w in enumerate(states):
                P[i, j] += ph * stats.multinomial.pmf(w, D, q)
    return states, P


def rbm_transition(model):
    """Exact one-step transition v -> h -> v' over all 2^K visible states."""
    W, b_v, b_h = (p.numpy().astype(float) for p in model.parameters)
    vs = binary_states(model.num_visible, tf.float64).numpy()
    hs = binary_states(model.num_hidden, tf.float64).numpy()
    sig = lambda x: 1 / (1 + np.exp(-x))                                      # noqa: E731
    P = np.zeros((len(vs), len(vs)))
    for i, v in enumerate(vs):
        p_h = sig(b_h + v @ W)
        for h in hs:
            ph = np.prod(np.where(h == 1, p_h, 1 - p_h))
            p_v = sig(b_v + W @ h)
            P[i] += ph * np.prod(np.where(vs == 1, p_v, 1 - p_v), axis=1)
    return vs, P


def assert_matches(samples, states, expected, n):
    index = [int(np.flatnonzero(np.all(states == s, axis=1))[0]) for s in samples]
    observed = np.bincount(index, minlength=len(states))
    keep = expected > 0
    assert observed[~keep].sum() == 0
    result = stats.chisquare(observed[keep], n * expected[keep] / expected[keep].sum())
    assert result.pvalue > 1e-4, (observed, n * expected)


N_CHAINS = 20_000


def test_rsm_gibbs_two_steps_follow_the_squared_transition_matrix():
    model = RSM(2, 1, dtype=tf.float64)
    model.W.assign([[2.5], [-2.5]])
    model.b_h.assign([-0.3])
    D = 3
    states, P = rsm_transition(model, D)
    P2 = P @ P
    assert np.abs(P2[0] - P[0]).max() > 0.1        # one step and two steps are far apart
    start = np.tile(states[0], (N_CHAINS, 1))
    v2 = model.gibbs(start, 2, seed=21).numpy()
    assert_matches(v2, states, P2[0], N_CHAINS)


def test_rbm_gibbs_two_steps_follow_the_squared_transition_matrix():
    model = RBM(2, 1, dtype=tf.float64)
    model.W.assign([[3.0], [3.0]])           # two sticky modes: v = 00 and v = 11
    model.b_v.assign([-1.5, -1.5])
    model.b_h.assign([-3.0])
    vs, P = rbm_transition(model)
    P2 = P @ P
    assert np.abs(P2[3] - P[3]).max() > 0.1
    v2 = model.gibbs(np.tile(vs[3], (N_CHAINS, 1)), 2, seed=22).numpy()
    assert_matches(v2, vs, P2[3], N_CHAINS)


def test_rsm_sample_hidden_and_sample_visible_are_the_conditionals():
    model = RSM(2, 2, seed=3, init_scale=1.5, dtype=tf.float64)
    model.b_h.assign([0.4, -0.7])
    v = tf.constant([[3.0, 1.0]] * N_CHAINS, tf.float64)
    h = model.sample_hidden(v, seed=1).numpy()
    p = model.hidden_probs(v[:1]).numpy()[0]
    for j in range(2):
        assert stats.binomtest(int(h[:, j].sum()), N_CHAINS, p[j]).pvalue > 1e-4
    hs = tf.constant([[1.0, 0.0]] * N_CHAINS, tf.float64)
    words = model.sample_visible(hs, 4, seed=2).numpy()
    q = tf.nn.softmax(model.visible_logits(hs[:1])).numpy()[0]
    assert stats.binomtest(int(words[:, 0].sum()), 4 * N_CHAINS, q[0]).pvalue > 1e-4


def test_gibbs_with_zero_steps_returns_the_start_and_different_seeds_differ():
    model = RSM(4, 2, seed=1, init_scale=1.0)
    v = tf.constant([[1.0, 2.0, 0.0, 3.0]] * 50)
    np.testing.assert_array_equal(model.gibbs(v, 0, seed=1).numpy(), v.numpy())
    a, b = model.gibbs(v, 1, seed=1).numpy(), model.gibbs(v, 1, seed=2).numpy()
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, model.gibbs(v, 1, seed=1).numpy())
