"""fit_rsm's weight decay and held-at-zero hidden bias; perplexity from a model; top_words;
AIS schedules; the exact intermediate distributions of temperature AIS (chapter 3)."""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from rsmlib import RSM, check, check_close, finite_differences, perplexity, relative_error
from rsmlib.datasets import log_counts
from rsmlib.evaluation import rsm_log_probs, top_words
from rsmlib.ais import (ais_log_partition, ais_log_partition_by_length,
                              temperature_path_hidden_log_probs)
from rsmlib.training import fit_rsm

K, F = 6, 3
DOCS = np.array([[3, 0, 1, 0, 0, 2], [0, 4, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1], [0, 0, 5, 0, 2, 0],
                 [2, 2, 0, 0, 0, 0], [0, 1, 0, 3, 0, 4]], np.float32)


def small_model(seed=1, dtype=tf.float32):
    model = RSM(K, F, seed=seed, init_scale=0.5, dtype=dtype)
    model.b_v.assign(tf.random.stateless_normal([K], [0, seed], dtype=dtype))
    return model


def one_sgd_epoch(model, **options):
    fit_rsm(model, DOCS, epochs=1, batch_size=len(DOCS), learning_rate=0.1, seed=3,
            optimizer="momentum", momentum=0.0, progress=False, **options)


# --- weight decay ------------------------------------------------------------------------------

def test_weight_decay_adds_lambda_W_to_the_gradient_of_W_only():
    lam, rate = 0.5, 0.1
    plain, decayed = small_model(), small_model()
    W0 = plain.W.numpy().copy()
    one_sgd_epoch(plain)
    one_sgd_epoch(decayed, weight_decay=lam)
    # same batch, same negative sample (drawn before the step): the only difference is -rate λ W0
    np.testing.assert_allclose(decayed.W.numpy(), plain.W.numpy() - rate * lam * W0, atol=1e-6)
    np.testing.assert_array_equal(decayed.b_v.numpy(), plain.b_v.numpy())
    np.testing.assert_array_equal(decayed.b_h.numpy(), plain.b_h.numpy())


def test_weight_decay_shrinks_the_weights_of_a_trained_model():
    norms = {}
    for lam in (0.0, 0.1):
        model = small_model()
        fit_rsm(model, DOCS, epochs=30, batch_size=3, learning_rate=0.05, seed=0,
                optimizer="adam", progress=False, weight_decay=lam)
        norms[lam] = float(tf.norm(model.W))
    assert norms[0.1] < 0.8 * norms[0.0], norms


@pytest.mark.parametrize("bad", [-1e-3, float("nan"), float("inf"), "0.1"])
def test_weight_decay_must_be_a_finite_non_negative_number(bad):
    with pytest.raises(ValueError, match="weight_decay"):
        one_sgd_epoch(small_model(), weight_decay=bad)


# --- an RSM whose hidden bias is held at zero --------------------------------------------------

def model_without_hidden_bias():
    """A stand-in for RSM(..., hidden_bias=False): b_h a non-trainable zero, hidden_bias False."""
    model = small_model()
    model.b_h = tf.Variable(tf.zeros([F]), trainable=False, name="b_h")
    model.hidden_bias = False
    return model


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_fit_rsm_keeps_a_held_hidden_bias_at_zero_and_trains_the_rest(optimizer):
    model = model_without_hidden_bias()
    W0 = model.W.numpy().copy()
    fit_rsm(model, DOCS, epochs=3, batch_size=2, learning_rate=0.05, seed=0,
            optimizer=optimizer, progress=False)
    np.testing.assert_array_equal(model.b_h.numpy(), np.zeros(F))
    assert relative_error(model.W.numpy(), W0) > 1e-3


def test_a_held_hidden_bias_is_held_even_when_its_variable_is_trainable():
    model = small_model()
    model.hidden_bias = False                                  # attribute alone decides
    fit_rsm(model, DOCS, epochs=2, batch_size=3, learning_rate=0.05, seed=0, progress=False)
    np.testing.assert_array_equal(model.b_h.numpy(), np.zeros(F))


def test_the_hidden_bias_is_trained_by_default():
    model = small_model()
    fit_rsm(model, DOCS, epochs=2, batch_size=3, learning_rate=0.05, seed=0, progress=False)
    assert np.abs(model.b_h.numpy()).max() > 1e-4


def test_without_the_hidden_bias_the_W_and_b_v_steps_are_unchanged():
    plain, held = small_model(), model_without_hidden_bias()
    one_sgd_epoch(plain)
    one_sgd_epoch(held)       # b_h = 0 in both before the step, so W and b_v move identically
    np.testing.assert_allclose(held.W.numpy(), plain.W.numpy(), atol=1e-7)
    np.testing.assert_allclose(held.b_v.numpy(), plain.b_v.numpy(), atol=1e-7)


# --- perplexity of a model ---------------------------------------------------------------------

def test_perplexity_of_a_model_equals_perplexity_of_its_exact_log_probs():
    model = small_model(dtype=tf.float64)
    exact = perplexity(rsm_log_probs(model, DOCS, log_partition=lambda D: model
                                     .log_partition_exact(D).numpy()), DOCS.sum(axis=1))
    assert perplexity(model, DOCS, log_partition="exact") == exact
    assert perplexity(model, DOCS) == exact                       # "auto": F <= 20 is exact
    ais = perplexity(model, DOCS, log_partition="ais", num_runs=2000, seed=0)
    assert abs(ais / exact - 1) < 0.01, (ais, exact)


def test_perplexity_of_a_large_model_needs_a_seed_for_ais():
    model = RSM(K, 25, seed=0)
    with pytest.raises(ValueError, match="seed"):
        perplexity(model, DOCS)
    assert np.isfinite(perplexity(model, DOCS, num_runs=10, seed=1))


def test_perplexity_rejects_an_unknown_log_partition():
    with pytest.raises(ValueError, match="log_partition"):
        perplexity(small_model(), DOCS, log_partition="enumerate")


# --- top words ---------------------------------------------------------------------------------

def test_top_words_reads_the_columns_of_W():
    model = small_model()
    W = np.zeros((K, F), np.float32)
    W[[4, 1, 2], 0] = [3.0, 2.0, 1.0]
    W[[0, 5], 2] = [1.0, 5.0]
    model.W.assign(W)
    model.b_v.assign(np.arange(K, dtype=np.float32) * 10)         # b_v must not matter
    vocab = ["a", "b", "c", "d", "e", "f"]
    words = top_words(model, vocab, 2)
    assert words[0] == ["e", "b"] and words[2] == ["f", "a"] and len(words) == F


@pytest.mark.parametrize("vocab, n, message", [(["a"], 2, "vocab"), (list("abcdef"), 0, "n"),
                                               (list("abcdef"), 7, "n")])
def test_top_words_bad_input_names_the_argument(vocab, n, message):
    with pytest.raises(ValueError, match=message):
        top_words(small_model(), vocab, n)


# --- AIS schedules and the intermediate distributions ------------------------------------------

def test_an_explicit_linear_schedule_equals_num_betas():
    model = small_model()
    a = ais_log_partition(model, [5, 12], num_runs=50, num_betas=40, seed=4)
    b = ais_log_partition(model, [5, 12], num_runs=50, betas=np.linspace(0, 1, 40), seed=4)
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"num_betas": 10, "betas": [0, 1]}, {"betas": [0, 0.5]},
                                    {"betas": [0, 0.6, 0.4, 1]}])
def test_ais_schedule_arguments_are_checked(kwargs):
    with pytest.raises(ValueError, match="betas"):
        ais_log_partition(small_model(), 5, num_runs=10, seed=0, **kwargs)


def brute_force_hidden_probs(model, D, beta, b_a):
    """p_β(h) by summing exp(c_β·v + β h·(D b_h + v W)) over every word sequence of length D."""
    W, b_v, b_h = (p.numpy().astype(np.float64) for p in model.parameters)
    c = (1 - beta) * b_a + beta * b_v
    hs = np.array(list(itertools.product([0, 1], repeat=F)), float)
    weights = []
    for h in hs:
        total = 0.0
        for words in itertools.product(range(K), repeat=D):
            v = np.bincount(words, minlength=K)
            total += np.exp(c @ v + beta * h @ (D * b_h + v @ W))
        weights.append(total)
    weights = np.array(weights)
    return weights / weights.sum()


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0])
def test_temperature_path_hidden_probs_match_brute_force(beta):
    model = small_model(dtype=tf.float64)
    model.b_h.assign([0.4, -0.3, 0.2])
    b_a = np.log(np.arange(1, K + 1) / np.arange(1, K + 1).sum())
    got = np.exp(temperature_path_hidden_log_probs(model, 3, [beta], b_a, chunk=3).numpy()[0])
    np.testing.assert_allclose(got, brute_force_hidden_probs(model, 3, beta, b_a), rtol=1e-10)


# --- checks and helpers that the chapters rely on ----------------------------------------------

def test_check_prints_the_verdict_and_raises_when_false(capsys):
    check("0.1", "a true claim", 1 + 1 == 2)
    assert capsys.readouterr().out == "[0.1] a true claim: True\n"
    with pytest.raises(AssertionError, match=r"\[0.2\] a false claim does not hold. why"):
        check("0.2", "a false claim", False, "why")


def test_check_close_uses_the_max_norm_relative_error():
    check_close("0.1", "close", 1 + 1e-9, 1.0, rtol=1e-6)
    with pytest.raises(AssertionError, match="relative error 0.1"):
        check_close("0.2", "not close", 1.1, 1.0, rtol=1e-6)


def test_finite_differences_of_a_quadratic():
    x = tf.Variable([1.0, -2.0, 0.5], dtype=tf.float64)
    (g,) = finite_differences([x], lambda: tf.reduce_sum(x ** 2))
    np.testing.assert_allclose(g, 2 * x.numpy(), atol=1e-8)


def test_log_counts_keeps_the_words_that_occur_and_damps_counts():
    counts = np.array([[0, 1, 2, 20, 100]])
    np.testing.assert_array_equal(log_counts(counts), [[0, 1, 1, 3, 5]])
