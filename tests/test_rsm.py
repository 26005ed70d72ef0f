"""Unit tests of rsmlib.rsm (chapter 2): free energy, exact likelihood, CD gradients, validation."""
import itertools

import numpy as np
import pytest
from scipy import stats
import tensorflow as tf

from rsmlib import RSM, binary_states, log_multinomial, relative_error
from rsmlib.rsm import check_counts, free_energy
from rsmlib.ais import ais_log_partition_by_length
from rsmlib.sampling import multinomial_counts

K, F = 4, 3


@pytest.fixture(scope="module")
def model():
    rsm = RSM(K, F, seed=1, init_scale=1.0, dtype=tf.float64)
    rsm.b_v.assign([0.3, -0.5, 0.1, 0.8])
    rsm.b_h.assign([0.4, -0.2, 0.25])
    return rsm


@pytest.fixture(scope="module")
def docs():
    """Eight documents of different lengths (1 to 9 words)."""
    return tf.constant([[1, 0, 0, 0], [2, 1, 0, 0], [0, 3, 1, 0], [1, 1, 1, 1],
                        [0, 0, 0, 5], [4, 0, 2, 1], [0, 2, 2, 2], [3, 3, 2, 1]], tf.float64)


def enumerated_free_energy(rsm, v):
    h = binary_states(rsm.num_hidden)
    n, s = len(v), len(h)
    E = rsm.energy(tf.repeat(v, s, axis=0), tf.tile(h, [n, 1]))
    return -tf.reduce_logsumexp(-tf.reshape(E, [n, s]), axis=1)


def test_free_energy_matches_enumeration_over_hidden_states(model, docs):
    assert relative_error(model.free_energy(docs), enumerated_free_energy(model, docs)) < 1e-12


def test_free_energy_uses_D_times_hidden_bias(model, docs):
    D = tf.reduce_sum(docs, axis=-1, keepdims=True)
    x = D * model.b_h + tf.matmul(docs, model.W)
    expected = -tf.linalg.matvec(docs, model.b_v) - tf.reduce_sum(tf.math.log1p(tf.exp(x)), axis=-1)
    assert relative_error(model.free_energy(docs), expected) < 1e-12
    assert relative_error(model.hidden_probs(docs), tf.sigmoid(x)) < 1e-12


@pytest.mark.parametrize("D", [1, 2, 3, 4])
def test_log_partition_matches_brute_force_over_words_and_hidden_states(model, D):
    h = binary_states(F)
    seqs = list(itertools.product(range(K), repeat=D))
    counts = tf.constant([np.bincount(s, minlength=K) for s in seqs], tf.float64)
    E = model.energy(tf.repeat(counts, len(h), axis=0), tf.tile(h, [len(seqs), 1]))
    brute = float(tf.reduce_logsumexp(-E))
    assert abs(float(model.log_partition_exact(D)) - brute) < 1e-10
    # ordered-sequence probabilities sum to one; so do bag probabilities with the coefficient
    assert abs(float(tf.reduce_sum(tf.exp(model.log_prob_exact(counts)))) - 1) < 1e-12
    bags = np.unique(counts.numpy(), axis=0)
    total = tf.reduce_sum(tf.exp(model.log_prob_exact(bags) + log_multinomial(bags)))
    assert abs(float(total) - 1) < 1e-12


def test_log_partition_per_document_length_and_chunking(model):
    each = [float(model.log_partition_exact(D)) for D in (1, 5, 9)]
    assert relative_error(model.log_partition_exact([1, 5, 9]), each) < 1e-14
    assert relative_error(model.log_partition_exact([1, 5, 9], chunk=3), each) < 1e-14


def exact_gradient_formula(rsm, v):
    h = binary_states(rsm.num_hidden)
    s, D = rsm.hidden_probs(v), tf.reduce_sum(v, axis=-1)
    n = len(v)
    data = (tf.matmul(v, s, transpose_a=True) / n, tf.reduce_mean(v, 0),
            tf.reduce_mean(D[:, None] * s, 0))
    logits = rsm.visible_logits(h)
    a = tf.linalg.matvec(h, rsm.b_h) + tf.reduce_logsumexp(logits, axis=-1)
    w = tf.reduce_mean(D[:, None] * tf.nn.softmax(D[:, None] * a, axis=-1), axis=0)
    pi = tf.nn.softmax(logits)
    model_term = (tf.einsum("s,sk,sj->kj", w, pi, h), tf.linalg.matvec(pi, w, transpose_a=True),
                  tf.linalg.matvec(h, w, transpose_a=True))
    return [d - m for d, m in zip(data, model_term)]


def test_exact_log_likelihood_gradient_is_data_minus_model(model, docs):
    with tf.GradientTape() as tape:
        L = tf.reduce_mean(model.log_prob_exact(docs))
    grads = tape.gradient(L, model.parameters)
    assert relative_error(grads, exact_gradient_formula(model, docs)) < 1e-12


@pytest.mark.parametrize("dtype, tol", [(tf.float64, 1e-12), (tf.float32, 1e-6)])
def test_cd_loss_gradient_is_minus_cd_update_with_D_on_hidden_bias(model, docs, dtype, tol):
    rsm = RSM(K, F, dtype=dtype)
    for a, b in zip(rsm.parameters, model.parameters):
        a.assign(tf.cast(b, dtype))
    v0 = tf.cast(docs, dtype)
    vk = rsm.gibbs(v0, 2, seed=3)
    with tf.GradientTape() as tape:
        loss = rsm.cd_loss(v0, vk)
    autodiff = [-g for g in tape.gradient(loss, rsm.parameters)]
    hand = rsm.cd_update(v0, vk)
    assert relative_error(autodiff, hand) < tol
    # the hidden-bias component carries the factor D: it is not the D-less update
    p0, pk = rsm.hidden_probs(v0), rsm.hidden_probs(vk)
    d_less = tf.reduce_mean(p0, 0) - tf.reduce_mean(pk, 0)
    D = tf.reduce_sum(v0, -1, keepdims=True)
    assert relative_error(hand[2], tf.reduce_mean(D * p0, 0) - tf.reduce_mean(D * pk, 0)) < tol
    assert relative_error(d_less, hand[2]) > 0.5


def test_cd_loss_holds_the_negative_constant(model, docs):
    v_tilde = tf.Variable(docs + 1.0)  # a differentiable negative: cd_loss must not differentiate it
    with tf.GradientTape() as tape:
        loss = model.cd_loss(docs, v_tilde)
    assert tape.gradient(loss, v_tilde) is None


def test_sum_of_free_energies_is_N_times_the_mean_loss(model, docs):
    vk = model.gibbs(docs, 1, seed=4)
    with tf.GradientTape(persistent=True) as tape:
        mean_loss = model.cd_loss(docs, vk)
        sum_loss = tf.reduce_sum(model.free_energy(docs)) - tf.reduce_sum(model.free_energy(vk))
    g_mean = tape.gradient(mean_loss, model.parameters)
    g_sum = tape.gradient(sum_loss, model.parameters)
    assert relative_error(g_sum, [len(docs) * g for g in g_mean]) < 1e-12


def test_sampling_is_deterministic_keeps_lengths_and_has_no_gradient(model, docs):
    h = model.sample_hidden(docs, seed=5)
    assert np.array_equal(h, model.sample_hidden(docs, seed=5))
    D = tf.cast(tf.reduce_sum(docs, -1), tf.int32)
    v1 = model.sample_visible(h, D, seed=6)
    assert np.array_equal(v1, model.sample_visible(h, D, seed=6))
    assert not np.array_equal(v1, model.sample_visible(h, D, seed=7))
    assert np.array_equal(tf.reduce_sum(v1, -1), D)
    assert np.array_equal(model.gibbs(docs, 3, seed=8), model.gibbs(docs, 3, seed=8))
    assert np.array_equal(tf.reduce_sum(model.gibbs(docs, 3, seed=8), -1), tf.reduce_sum(docs, -1))
    with tf.GradientTape() as tape:
        probe = tf.reduce_sum(model.gibbs(docs, 1, seed=9))
    assert all(g is None for g in tape.gradient(probe, model.parameters))


def test_sampled_words_follow_the_softmax(model):
    h = tf.constant([[1.0, 0.0, 1.0]], tf.float64)
    counts = model.sample_visible(tf.repeat(h, 4000, axis=0), 25, seed=10)
    expected = 25 * tf.nn.softmax(model.visible_logits(h))[0]
    stderr = tf.math.reduce_std(counts, 0) / np.sqrt(4000)
    assert float(tf.reduce_max(tf.abs(tf.reduce_mean(counts, 0) - expected) / stderr)) < 5


def test_sample_visible_works_inside_tf_function(model, docs):
    f = tf.function(lambda v, s: model.gibbs(v, 1, s))
    out = f(docs, tf.constant([0, 11], tf.int64))
    assert np.array_equal(tf.reduce_sum(out, -1), tf.reduce_sum(docs, -1))


@pytest.mark.parametrize("bad, message", [
    ([[1.0, -1.0, 0.0, 0.0]], r"v must hold non-negative integer counts; found -1\.0 at row 0, column 1"),
    ([[1.0, 0.5, 0.0, 0.0]], r"v must hold non-negative integer counts; found 0\.5 at row 0, column 1"),
    ([[1.0, 0.0, np.nan, 0.0]], r"v must hold non-negative integer counts; found nan at row 0, column 2"),
    ([[1.0, 0.0, 0.0, np.inf]], r"v must hold non-negative integer counts"),
    ([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]], r"v must hold documents of at least one word; row 1"),
    ([[1.0, 0.0, 0.0]], r"v must have 4 columns \(one per vocabulary word\); got 3"),
    ([1.0, 0.0, 0.0, 0.0], r"v must have shape \(N, 4\)"),
    ([[[1.0, 0.0, 0.0, 0.0]]], r"v must have shape \(N, 4\)"),
])
def test_invalid_counts_raise_naming_the_argument(model, bad, message):
    with pytest.raises(ValueError, match=message):
        model.free_energy(np.array(bad))


def test_validation_names_each_argument(model, docs):
    with pytest.raises(ValueError, match="v_model must hold non-negative integer counts"):
        model.cd_loss(docs, -docs)
    with pytest.raises(ValueError, match="v_data must hold documents of at least one word"):
        model.cd_update(tf.zeros([1, K], tf.float64), docs[:1])
    with pytest.raises(ValueError, match="D must hold document lengths of at least one word"):
        model.sample_visible(tf.zeros([2, F], tf.float64), [3, 0], seed=0)
    with pytest.raises(ValueError, match="D must hold document lengths"):
        model.log_partition_exact(2.5)
    with pytest.raises(ValueError, match="num_hidden must be a positive int"):
        RSM(K, 0)
    with pytest.raises(ValueError, match="k must be a non-negative int"):
        model.gibbs(docs, -1, seed=0)
    with pytest.raises(ValueError, match="needs F <= 20"):
        RSM(3, 21).log_partition_exact(2)


def test_integer_counts_are_accepted_and_the_pure_formula_takes_expected_counts(model, docs):
    as_int = tf.cast(docs, tf.int32)
    assert relative_error(model.free_energy(as_int), model.free_energy(docs)) == 0
    assert check_counts(as_int, K, "v", tf.float64).dtype == tf.float64
    expected_counts = docs + 0.25  # fractional: rejected by the model, accepted by the formula
    with pytest.raises(ValueError):
        model.free_energy(expected_counts)
    assert free_energy(expected_counts, *model.parameters).shape == (len(docs),)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_multinomial_counts_is_exact_down_to_rare_words(dtype):
    # 40 words with probabilities from 0.3 down to 1e-6; 10 million draws pooled over 2,000 rows
    p = np.geomspace(1.0, 3e-6, 40)
    p /= p.sum()
    logits = tf.broadcast_to(tf.constant(np.log(p), dtype), [2000, 40])
    counts = multinomial_counts(logits, 5000, seed=[3, 4])
    assert counts.dtype == dtype and np.all(tf.reduce_sum(counts, -1) == 5000)
    pooled = counts.numpy().sum(0)
    expected = pooled.sum() * p
    assert expected.min() > 5           # every cell large enough for the chi-square test
    assert stats.chisquare(pooled, expected).pvalue > 1e-3
    assert np.array_equal(counts, multinomial_counts(logits, 5000, seed=[3, 4]))


def test_multinomial_counts_rows_are_independent():
    # Uniform over 200,000 words: 1,600 independent draws share a word about 6 times. A sampler
    # whose rows reuse each other's random numbers (TensorFlow 2.21's CPU categorical kernel
    # does, across its thread shards) repeats hundreds.
    counts = multinomial_counts(tf.zeros([16, 200_000]), 100, seed=[5, 6]).numpy()
    assert np.all(counts.sum(1) == 100)
    assert np.sum(counts) - np.sum(counts > 0) < 25


def test_ais_over_the_length_matches_enumeration():
    # a 6-word, 4-unit RSM with strong weights, so that long documents make p_d(h) sharp
    model = RSM(6, 4, seed=3, init_scale=1.5, dtype=tf.float64)
    model.b_h.assign([0.5, -0.4, 0.3, -0.2])
    D = [1, 5, 20, 60]
    log_z, stderr = ais_log_partition_by_length(model, D, num_runs=1000, seed=4)
    exact = model.log_partition_exact(D).numpy()
    assert log_z.shape == stderr.shape == (4,)
    assert np.all(np.abs(log_z - exact) < 0.2) and np.all(stderr < 0.1), (log_z - exact, stderr)
    single = ais_log_partition_by_length(model, 20, num_runs=1000, seed=4)
    assert isinstance(single[0], float) and single[0] == pytest.approx(log_z[2])


# --- the redundant hidden bias (chapter 2, "The hidden bias is redundant") --------------------------

def test_gauge_shift_leaves_every_log_probability_unchanged(model, docs):
    """(W + 1cᵀ, b_v, b_h - c) is the same RSM for every document length (eq. rsm-gauge)."""
    c = tf.constant([0.7, -1.3, 2.1], tf.float64)
    shifted = RSM(K, F, dtype=tf.float64)
    shifted.W.assign(model.W + c[None, :])
    shifted.b_v.assign(model.b_v)
    shifted.b_h.assign(model.b_h - c)
    assert relative_error(shifted.log_prob_exact(docs), model.log_prob_exact(docs)) < 1e-13
    assert relative_error(shifted.hidden_probs(docs), model.hidden_probs(docs)) < 1e-13
    shifted.b_h.assign(model.b_h)        # shifting W alone is a different model
    assert relative_error(shifted.log_prob_exact(docs), model.log_prob_exact(docs)) > 1e-2


def test_hidden_bias_gradient_is_the_column_sums_of_the_weight_gradient(model, docs):
    with tf.GradientTape() as tape:
        L = tf.reduce_mean(model.log_prob_exact(docs))
    g_W, _, g_b_h = tape.gradient(L, model.parameters)
    assert relative_error(tf.reduce_sum(g_W, 0), g_b_h) < 1e-13
    dW, _, db_h = model.cd_update(docs, model.gibbs(docs, 1, seed=3))
    assert relative_error(tf.reduce_sum(dW, 0), db_h) < 1e-13


def test_without_hidden_bias_b_h_is_a_non_trainable_zero():
    rsm = RSM(K, F, seed=2, init_scale=0.5, hidden_bias=False)
    assert rsm.hidden_bias is False and RSM(K, F).hidden_bias is True
    assert len(rsm.parameters) == 3 and rsm.parameters[2] is rsm.b_h
    assert not rsm.b_h.trainable and rsm.W.trainable and rsm.b_v.trainable
    assert {v.ref() for v in rsm.trainable_variables} == {rsm.W.ref(), rsm.b_v.ref()}
    v = tf.constant([[1, 0, 2, 0], [0, 3, 1, 1]], tf.float32)
    optimizer = tf.keras.optimizers.SGD(0.5)
    for step in range(3):
        vk = rsm.gibbs(v, 1, seed=step)
        with tf.GradientTape() as tape:
            loss = rsm.cd_loss(v, vk)
        grads = tape.gradient(loss, rsm.parameters)
        assert grads[2] is None and grads[0] is not None
        optimizer.apply_gradients(zip(grads[:2], rsm.parameters[:2]))
    np.testing.assert_array_equal(rsm.b_h.numpy(), np.zeros(F))
    assert float(tf.reduce_max(tf.abs(rsm.W))) > 0


def test_without_hidden_bias_the_model_is_the_one_with_b_h_at_zero():
    rsm = RSM(K, F, seed=2, init_scale=0.5, hidden_bias=False, dtype=tf.float64)
    v = tf.constant([[1, 0, 2, 0], [0, 3, 1, 1], [2, 2, 2, 2]], tf.float64)
    model_b0 = RSM(K, F, seed=2, init_scale=0.5, dtype=tf.float64)     # hidden_bias=True, b_h = 0
    np.testing.assert_allclose(rsm.log_prob_exact(v), model_b0.log_prob_exact(v), rtol=1e-14)


@pytest.mark.parametrize("bad", [1, 0, "no", None, 1.0])
def test_hidden_bias_must_be_a_bool(bad):
    with pytest.raises(TypeError, match="hidden_bias must be a bool"):
        RSM(K, F, hidden_bias=bad)
