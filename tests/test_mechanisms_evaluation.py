"""Mechanism tests of rsmlib.evaluation on hand-computed cases (issue 18)."""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from rsmlib import RSM, log_multinomial, perplexity, rsm_log_probs, unigram_log_probs
from rsmlib.evaluation import unigram_base_rates


def test_perplexity_is_normalised_per_word_not_per_document():
    # exp(-(-2 - 9) / (1 + 3)) = exp(2.75); per document it would be exp((2 + 3) / 2) = exp(2.5)
    assert perplexity([-2.0, -9.0], [1, 3]) == pytest.approx(np.exp(2.75), rel=1e-12)


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    lengths = np.array([1, 4, 10])
    assert perplexity(-lengths * np.log(50.0), lengths) == pytest.approx(50.0, rel=1e-12)


def model():
    rsm = RSM(3, 2, seed=2, init_scale=1.0, dtype=tf.float64)
    rsm.b_v.assign([0.5, -0.2, 0.1])
    rsm.b_h.assign([0.3, -0.4])
    return rsm


def test_rsm_log_probs_subtract_log_z_of_each_documents_own_length():
    rsm = model()
    docs = np.array([[1, 0, 0], [2, 1, 0], [0, 0, 1]], float)
    log_z = {1: 10.0, 3: 100.0}
    got = rsm_log_probs(rsm, docs, log_partition=lambda D: np.array([log_z[d] for d in D]))
    free = rsm.free_energy(docs).numpy()
    np.testing.assert_allclose(got, -free - np.array([10.0, 100.0, 10.0]), rtol=1e-12)


def test_exact_log_probs_of_all_documents_of_a_length_sum_to_one():
    # Σ over count vectors v with D words of (D! / Π v_k!) P(V) = 1: the sign of log Z matters
    rsm = model()
    D = 4
    docs = np.array([v for v in itertools.product(range(D + 1), repeat=3) if sum(v) == D], float)
    log_p = rsm_log_probs(rsm, docs, log_partition=lambda d: rsm.log_partition_exact(d).numpy())
    total = np.exp(log_p + log_multinomial(docs).numpy()).sum()
    assert total == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(rsm.log_prob_exact(docs).numpy(), log_p, rtol=1e-12)


def test_model_perplexity_uses_the_log_partition_it_is_given():
    rsm = model()
    docs = np.array([[1, 2, 0], [0, 1, 3]], float)
    exact = perplexity(rsm, docs, log_partition="exact")
    shifted = perplexity(rsm, docs, log_partition=lambda D: rsm.log_partition_exact(D).numpy() + 1)
    # log Z one nat larger on both documents: log p falls by 1 each, over 3 + 4 words
    assert shifted == pytest.approx(exact * np.exp(2 / 7), rel=1e-12)


def test_unigram_log_probs_by_hand():
    train = np.array([[2, 0, 1], [1, 0, 0]])          # counts 3, 0, 1; smoothed 4, 1, 2 over 7
    docs = np.array([[1, 1, 0], [0, 0, 2]])
    expected = [np.log(4 / 7) + np.log(1 / 7), 2 * np.log(2 / 7)]
    np.testing.assert_allclose(unigram_log_probs(train, docs), expected, rtol=1e-12)
    np.testing.assert_allclose(unigram_base_rates(train), np.log([4 / 7, 1 / 7, 2 / 7]))
    np.testing.assert_allclose(unigram_log_probs(train, docs, smoothing=0.5),
                               [np.log(3.5 / 5.5) + np.log(0.5 / 5.5), 2 * np.log(1.5 / 5.5)])


def test_auto_log_partition_enumerates_up_to_and_including_the_limit(monkeypatch):
    # "auto" is exact for F <= MAX_ENUMERATED_UNITS (the limit lowered to 2 here, so that the
    # boundary is cheap) and AIS above it, which then needs a seed
    import rsmlib.partition
    monkeypatch.setattr(rsmlib.partition, "MAX_ENUMERATED_UNITS", 2)
    docs = np.array([[1, 2, 0], [0, 1, 3]], float)
    at_limit = RSM(3, 2, seed=1, init_scale=1.0, dtype=tf.float64)
    assert perplexity(at_limit, docs) == perplexity(at_limit, docs, log_partition="exact")
    with pytest.raises(ValueError, match="seed"):
        perplexity(RSM(3, 3, seed=1, dtype=tf.float64), docs)


def test_perplexity_names_the_bad_length_and_top_words_takes_n_from_one():
    with pytest.raises(ValueError, match=r"found 0\.0"):
        perplexity([-1.0, -2.0, -3.0], [3, 0, 1])
    from rsmlib import top_words
    W = np.array([[0.1, 2.0], [1.0, -1.0], [0.5, 0.0]])
    assert top_words(W, ["a", "b", "c"], 1) == [["b"], ["a"]]
    with pytest.raises(ValueError, match="between 1 and 3"):            # K = 3 words, not F
        top_words(W, ["a", "b", "c"], 4)


def test_perplexity_names_the_non_finite_log_probability_and_top_words_refuses_non_int_n():
    with pytest.raises(ValueError, match="found nan"):
        perplexity([-1.0, np.nan, -3.0], [3, 2, 1])
    from rsmlib import top_words
    W = np.array([[0.1, 2.0], [1.0, -1.0], [0.5, 0.0]])
    for n in (True, 1.5, 2.0):                                      # a bool, fractions, floats
        with pytest.raises(ValueError, match=r"\bn\b"):
            top_words(W, ["a", "b", "c"], n)


@pytest.mark.parametrize("short", [lambda D: np.zeros(1), lambda D: 0.0])
def test_rsm_log_probs_refuses_a_log_partition_of_the_wrong_shape(short):
    model = RSM(3, 2, dtype=tf.float64)
    docs = np.array([[1.0, 0, 0], [1, 2, 0]])                     # two distinct lengths
    with pytest.raises(ValueError, match="log_partition must return"):
        rsm_log_probs(model, docs, log_partition=short)
