"""Mechanism tests of the public names the other tests reach only indirectly (issue 18):
the loaders shipped offline, RBM.hidden_free_energy and visible_probs, gradient_and_hessian,
relative_error's max-norm, finite_differences' restoring of the variables."""
import numpy as np
import pytest
import tensorflow as tf

from rsmlib import (RBM, Corpus, binary_states, finite_differences, gradient_and_hessian,
                    load_mnist_digits, load_reuters, relative_error)


def test_load_reuters_is_the_lda_corpus_as_counts():
    import lda.datasets
    corpus = load_reuters()
    assert corpus.counts.shape == (395, 4258) == (len(corpus.titles), len(corpus.vocab))
    assert corpus.counts.dtype == np.int64 and corpus.counts.min() >= 0
    np.testing.assert_array_equal(corpus.counts, lda.datasets.load_reuters())
    assert corpus.vocab[:3] == tuple(lda.datasets.load_reuters_vocab()[:3])


def test_corpus_unpacks_as_counts_vocab_titles_and_is_what_load_reuters_returns():
    assert Corpus._fields == ("counts", "vocab", "titles")
    counts, vocab, titles = Corpus(np.eye(2, 3, dtype=np.int64), ("a", "b", "c"), ("x", "y"))
    assert vocab == ("a", "b", "c") and titles == ("x", "y") and counts.shape == (2, 3)
    corpus = load_reuters()
    assert type(corpus) is Corpus  # a named tuple of the three, in this order
    assert corpus[0] is corpus.counts and corpus[1] is corpus.vocab and corpus[2] is corpus.titles


def test_load_mnist_digits_binarises_with_the_grey_level():
    train, test, y_train, y_test, grey = load_mnist_digits(num_test=500, seed=3, grey=True)
    assert train.shape == (4500, 784) and test.shape == (500, 784)
    assert set(np.unique(train)) <= {0.0, 1.0} and len(y_train) == 4500 and len(y_test) == 500
    # v ~ Bernoulli(x / 255): pixels that are 0 stay 0, pixels that are 255 become 1, and the
    # mean of the binary images is the mean grey level
    assert np.all(train[grey == 0] == 0) and np.all(train[grey == 1] == 1)
    assert abs(train.mean() - grey.mean()) < 3e-3


def small_rbm(K=3, F=2):
    rbm = RBM(K, F, seed=2, init_scale=1.5, dtype=tf.float64)
    rbm.b_v.assign(np.linspace(-1, 1, K))
    rbm.b_h.assign(np.linspace(0.5, -0.5, F))
    return rbm


def test_rbm_hidden_free_energy_sums_out_the_visible_units():
    rbm = small_rbm()
    vs, hs = binary_states(3).numpy(), binary_states(2).numpy()
    E = np.array([[float(rbm.energy(v[None], h[None])[0]) for v in vs] for h in hs])
    np.testing.assert_allclose(rbm.hidden_free_energy(hs).numpy(),
                               -np.logaddexp.reduce(-E, axis=1), rtol=1e-12)


def test_rbm_visible_probs_are_the_conditional_of_the_joint():
    rbm = small_rbm()
    vs, h = binary_states(3).numpy(), np.array([[1.0, 0.0]])
    E = np.array([float(rbm.energy(v[None], h)[0]) for v in vs])
    p = np.exp(-E - np.logaddexp.reduce(-E))               # p(v | h) by enumeration
    marginal = (p[:, None] * vs).sum(0)
    np.testing.assert_allclose(rbm.visible_probs(h).numpy()[0], marginal, rtol=1e-12)


def test_gradient_and_hessian_of_a_quadratic_form_per_row():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    xi = tf.constant([[1.0, -1.0], [0.5, 2.0]], tf.float64)
    g, H = gradient_and_hessian(lambda x: 0.5 * tf.einsum("ni,ij,nj->n", x, A, x)
                                + tf.reduce_sum(x ** 3, axis=1), xi)
    np.testing.assert_allclose(g, xi.numpy() @ A + 3 * xi.numpy() ** 2, rtol=1e-12)
    np.testing.assert_allclose(H, A + np.stack([np.diag(6 * x) for x in xi.numpy()]), rtol=1e-12)


def test_relative_error_is_the_max_norm_ratio():
    assert relative_error([1.0, 2.0, 4.0], [1.0, 1.0, 5.0]) == pytest.approx(1.0 / 5.0)
    assert relative_error([[1.0], [0.0, 3.0]], [[1.0], [0.0, 4.0]]) == pytest.approx(0.25)
    assert relative_error([0.5], [0.0]) == 0.5                 # zero reference: absolute error


def test_finite_differences_restores_every_variable():
    a, b = tf.Variable([1.0, 2.0], dtype=tf.float64), tf.Variable([[3.0]], dtype=tf.float64)
    ga, gb = finite_differences([a, b], lambda: tf.reduce_sum(a ** 2) * b[0, 0])
    np.testing.assert_allclose(ga, [6.0, 12.0], rtol=1e-8)
    np.testing.assert_allclose(gb, [[5.0]], rtol=1e-8)
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(b.numpy(), [[3.0]])
