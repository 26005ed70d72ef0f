"""Mechanism tests of the RSM's and RBM's small methods (chapters 2 and 3; issue 18).

The energies and hidden inputs against the formulas written out by hand (each term has a
different coefficient, so a dropped or swapped term shows), ``parameters`` in the order
``cd_update`` returns its gradients, the sizes read off W, and the RBM's conditional
samplers against their probabilities.
"""
import numpy as np
import tensorflow as tf

from rsmlib import RBM, RSM

F64 = tf.float64


def with_values(model, seed):
    rng = np.random.default_rng(seed)
    for p in model.parameters:
        p.assign(rng.normal(size=p.shape))
    return model


def test_rsm_energy_and_hidden_input_are_the_formulas_term_by_term():
    model = with_values(RSM(4, 3, dtype=F64), 0)
    W, b_v, b_h = (p.numpy() for p in model.parameters)
    v = np.array([[2.0, 0, 1, 0], [0, 3, 1, 1]])
    h = np.array([[1.0, 0, 1], [0, 1, 1]])
    D = v.sum(1)
    np.testing.assert_allclose(model.hidden_input(v).numpy(), D[:, None] * b_h + v @ W,
                               rtol=1e-13)
    energy = -v @ b_v - np.einsum("nk,kj,nj->n", v, W, h) - D * (h @ b_h)
    np.testing.assert_allclose(model.energy(v, h).numpy(), energy, rtol=1e-13)
    assert (model.vocab_size, model.num_hidden) == (4, 3)
    assert model.parameters == (model.W, model.b_v, model.b_h)
    grads = model.cd_update(v, v[::-1])
    assert [g.shape for g in grads] == [(4, 3), (4,), (3,)]


def test_rbm_energy_and_hidden_input_are_the_formulas_term_by_term():
    model = with_values(RBM(4, 3, dtype=F64), 1)
    W, b_v, b_h = (p.numpy() for p in model.parameters)
    v = np.array([[1.0, 0, 1, 1], [0, 1, 1, 0]])
    h = np.array([[1.0, 0, 1], [0, 1, 1]])
    np.testing.assert_allclose(model.hidden_input(v).numpy(), b_h + v @ W, rtol=1e-13)
    energy = -v @ b_v - h @ b_h - np.einsum("nk,kj,nj->n", v, W, h)
    np.testing.assert_allclose(model.energy(v, h).numpy(), energy, rtol=1e-13)
    assert (model.num_visible, model.num_hidden) == (4, 3)
    assert model.parameters == (model.W, model.b_v, model.b_h)


def test_rbm_sample_hidden_and_sample_visible_fire_at_their_probabilities():
    model = with_values(RBM(4, 3, dtype=F64), 2)
    n = 40_000
    v = np.tile([[1.0, 0, 1, 0]], (n, 1))
    h = np.tile([[0.0, 1, 1]], (n, 1))
    for draw, p in ((model.sample_hidden(v, seed=3), model.hidden_probs(v[:1])),
                    (model.sample_visible(h, seed=4), model.visible_probs(h[:1]))):
        draw, p = draw.numpy(), p.numpy()[0]
        assert set(np.unique(draw)) <= {0.0, 1.0}
        z = (draw.mean(0) - p) / np.sqrt(p * (1 - p) / n)
        assert np.abs(z).max() < 4.5
    a, b = model.sample_hidden(v[:50], seed=5), model.sample_hidden(v[:50], seed=6)
    assert not np.array_equal(a.numpy(), b.numpy())
